// The synthetic renderer's factors, one at a time: each row of the sheet changes a single factor of
// one base face (identity, roll, scale, shift, yaw, light, background, expression, each makeup
// product) and keeps every other factor fixed. docs/images/synthetic_factors.png is its output.
//
//   render_factor_grid [--out FILE] [--cell PIXELS] [--seed K] [--identity ID]
#include <facegan/core/error.hpp>
#include <facegan/core/heap.hpp>
#include <facegan/data/synthetic_faces.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace {

using facegan::data::Expression;
using facegan::data::FaceFactors;
using facegan::data::MakeupItem;
using facegan::data::Rgb;

constexpr int kColumns = 8;

struct Row {
  std::string name;
  std::function<void(FaceFactors&, int column)> vary;
};

struct Args {
  std::string out = "docs/images/synthetic_factors.png";
  int cell = 64;
  int64_t seed = 0;
  int64_t identity = -1;  // -1: the first light-skinned identity with a side part
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::printf("usage: render_factor_grid [--out FILE] [--cell PIXELS] [--seed K] [--identity ID]\n");
      std::exit(0);
    }
    if (i + 1 >= argc) throw facegan::ConfigError("flag " + flag + " needs a value");
    const std::string value = argv[++i];
    if (flag == "--out") a.out = value;
    else if (flag == "--cell") a.cell = std::stoi(value);
    else if (flag == "--seed") a.seed = std::stoll(value);
    else if (flag == "--identity") a.identity = std::stoll(value);
    else throw facegan::ConfigError("unknown flag " + flag + "; known: --out, --cell, --seed, --identity");
  }
  return a;
}

double ramp(int column, double lo, double hi) { return lo + (hi - lo) * column / (kColumns - 1); }

}  // namespace

int main(int argc, char** argv) {
  try {
    facegan::tune_cpu_heap();  // freed tensors stay mapped for the next step (docs/benchmarks.md)
    const Args args = parse(argc, argv);
    facegan::data::SyntheticFaces renderer(facegan::data::SyntheticFacesOptions().size(args.cell).seed(args.seed));
    int64_t id = args.identity;
    for (int64_t i = 0; id < 0 && i < renderer.options().num_identities(); ++i) {
      // A light-skinned base face with a side part shows every factor, makeup included.
      const auto& t = renderer.traits(i);
      if (t.hair_style == facegan::data::HairStyle::kSidePart && t.skin.r > 0.85) id = i;
    }
    if (id < 0) id = 0;

    FaceFactors base;
    base.identity = id;
    base.attributes.scale = 0.92;
    const Rgb bg_top = base.attributes.background_top, bg_bottom = base.attributes.background_bottom;
    const std::vector<Expression> expressions{Expression::kNeutral,   Expression::kHappy,     Expression::kSad,
                                              Expression::kAngry,     Expression::kSurprised, Expression::kDisgusted,
                                              Expression::kFearful,   Expression::kHappy};
    auto makeup_row = [&](MakeupItem facegan::data::Makeup::*item, std::vector<Rgb> colours) {
      // Column 0 bare; 1-4 the first colour at intensity 0.25 .. 1; 5-7 other colours at full intensity.
      return [item, colours](FaceFactors& f, int c) {
        if (c == 0) return;
        MakeupItem& m = f.makeup.*item;
        m.enabled = true;
        m.intensity = c <= 4 ? 0.25 * c : 1.0;
        m.color = colours[c <= 4 ? 0 : static_cast<size_t>(c - 4)];
      };
    };
    const std::vector<Row> rows{
        {"identity", [&](FaceFactors& f, int c) { f.identity = (id + 7 * c) % renderer.options().num_identities(); }},
        {"roll", [](FaceFactors& f, int c) { f.attributes.roll = ramp(c, -0.35, 0.35); }},
        {"scale", [](FaceFactors& f, int c) { f.attributes.scale = ramp(c, 0.7, 1.05); }},
        {"shift x / y",
         [](FaceFactors& f, int c) {
           if (c < 4) f.attributes.shift_x = -0.09 + 0.06 * c;
           else f.attributes.shift_y = -0.09 + 0.06 * (c - 4);
         }},
        {"yaw", [](FaceFactors& f, int c) { f.attributes.yaw = ramp(c, -0.4, 0.4); }},
        {"light",
         [](FaceFactors& f, int c) {
           const double a = 2 * 3.14159265358979 * c / kColumns;
           f.attributes.light_x = 0.9 * std::sin(a);
           f.attributes.light_y = -0.9 * std::cos(a);
           f.attributes.light_strength = 0.85;
         }},
        {"background",
         [&](FaceFactors& f, int c) {
           const std::vector<Rgb> tops{bg_top, {0.85, 0.85, 0.8}, {0.3, 0.5, 0.35}, {0.75, 0.55, 0.8},
                                       {0.2, 0.2, 0.25}, {0.95, 0.8, 0.6}, {0.4, 0.6, 0.85}, {0.7, 0.3, 0.3}};
           f.attributes.background_top = tops[static_cast<size_t>(c)];
           f.attributes.background_bottom = c == 0 ? bg_bottom
                                                   : Rgb{tops[static_cast<size_t>(c)].r * 0.6, tops[static_cast<size_t>(c)].g * 0.6,
                                                         tops[static_cast<size_t>(c)].b * 0.6};
         }},
        {"expression",
         [&](FaceFactors& f, int c) {
           f.expression = expressions[static_cast<size_t>(c)];
           f.intensity = c == 7 ? 0.5 : 1.0;
         }},
        {"lipstick", makeup_row(&facegan::data::Makeup::lipstick,
                                {{0.75, 0.08, 0.12}, {0.9, 0.4, 0.55}, {0.45, 0.12, 0.28}, {0.95, 0.45, 0.35}})},
        {"eyeshadow", makeup_row(&facegan::data::Makeup::eyeshadow,
                                 {{0.45, 0.25, 0.55}, {0.25, 0.4, 0.7}, {0.8, 0.65, 0.35}, {0.22, 0.22, 0.25}})},
        {"blush", makeup_row(&facegan::data::Makeup::blush,
                             {{0.95, 0.5, 0.55}, {0.98, 0.6, 0.45}, {0.85, 0.4, 0.45}, {0.75, 0.3, 0.4}})},
        {"eyeliner", makeup_row(&facegan::data::Makeup::eyeliner,
                                {{0.05, 0.05, 0.06}, {0.25, 0.15, 0.1}, {0.1, 0.12, 0.35}, {0.3, 0.1, 0.25}})},
    };

    const int cell = args.cell, pad = 2, label_w = 6 * cell / 5 + 8;
    const int rows_n = static_cast<int>(rows.size());
    cv::Mat sheet(rows_n * (cell + pad) + pad, label_w + kColumns * (cell + pad) + pad, CV_8UC3, cv::Scalar(255, 255, 255));
    for (int r = 0; r < rows_n; ++r) {
      const int y = pad + r * (cell + pad);
      cv::putText(sheet, rows[static_cast<size_t>(r)].name, cv::Point(4, y + cell / 2 + 4), cv::FONT_HERSHEY_SIMPLEX,
                  0.38 * cell / 64.0 + 0.02, cv::Scalar(40, 40, 40), 1, cv::LINE_AA);
      for (int c = 0; c < kColumns; ++c) {
        FaceFactors f = base;
        rows[static_cast<size_t>(r)].vary(f, c);
        renderer.render(f).image.copyTo(sheet(cv::Rect(label_w + pad + c * (cell + pad), y, cell, cell)));
      }
    }
    const std::filesystem::path out(args.out);
    if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
    if (!cv::imwrite(args.out, sheet, {cv::IMWRITE_PNG_COMPRESSION, 9})) {
      throw facegan::DataError("cannot write " + args.out);
    }
    std::printf("wrote %s (%d x %d): rows vary one factor each, identity %lld is the base face\n", args.out.c_str(),
                sheet.cols, sheet.rows, static_cast<long long>(id));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "render_factor_grid: %s\n", e.what());
    return 1;
  }
}
