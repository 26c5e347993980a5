// `facegan render` (synthetic faces to PNGs or HDF5) and `facegan pack` (any data set to HDF5).
#include "commands.hpp"

#include <facegan/facegan.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace facegan::cli {
namespace {

namespace fs = std::filesystem;

/// How often the writers report, in samples: PNGs are slow enough to report more often.
constexpr int64_t kPngStride = 64;
constexpr int64_t kPackStride = 256;

/// Progress of `total` samples reported every `stride`: a bar on a terminal, else a line about
/// every tenth of the way (a multiple of `stride`, as only those steps are reported).
train::Progress sample_progress(const char* label, size_t total, int64_t stride) {
  const int64_t tenth = static_cast<int64_t>(total) / 10;
  const int64_t every = std::max<int64_t>(1, (tenth + stride - 1) / stride) * stride;
  train::Progress progress(std::cout, train::ProgressMode::kAuto, 0, static_cast<int64_t>(total), every);
  progress.label(label);
  return progress;
}

/// Packs `dataset` into `out`, showing progress under `label`.
void pack_with_progress(const data::Dataset& dataset, const std::string& out, data::PackOptions options,
                        const char* label) {
  train::Progress progress = sample_progress(label, dataset.size(), kPackStride);
  options.progress_every(kPackStride);
  options.progress = [&](size_t done, size_t) { progress.update(static_cast<int64_t>(done), {}); };
  data::pack(dataset, out, options);
  progress.finish();
}

/// A JSON value given on the command line: inline JSON, or @path to a JSON file.
json json_argument(const std::string& text, const std::string& what) {
  if (!text.empty() && text[0] == '@') return load_json_file(text.substr(1));
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw ConfigError(what + " is not valid JSON (" + e.what() + "); pass JSON or @file.json");
  }
}

struct RenderArgs {
  std::string out;
  int64_t count = 64;
  std::vector<std::string> sets;
};

int run_render(const RenderArgs& args) {
  json spec = {{"type", "synthetic_faces"}, {"num_samples", args.count}};
  apply_overrides(spec, args.sets);
  const auto dataset = data::create_dataset(spec, "render");
  if (fs::path(args.out).extension() == ".h5") {
    pack_with_progress(*dataset, args.out, data::PackOptions(), "render+pack");
    std::printf("wrote %zu faces to %s\n", dataset->size(), args.out.c_str());
    return 0;
  }
  fs::create_directories(args.out);
  std::ofstream factors(fs::path(args.out) / "factors.jsonl");
  train::Progress progress = sample_progress("render", dataset->size(), kPngStride);
  for (size_t i = 0; i < dataset->size(); ++i) {
    const auto sample = dataset->get(i);
    char name[32];
    std::snprintf(name, sizeof(name), "face_%06zu.png", i);
    data::write_image((fs::path(args.out) / name).string(), sample.at("image"));
    // The landmarks in ibug's .pts format, which `infer transfer/remove` read.
    std::ofstream pts(fs::path(args.out) / (fs::path(name).stem().string() + ".pts"));
    const torch::Tensor lm = sample.at("landmarks").contiguous();
    pts << "version: 1\nn_points: " << lm.size(0) << "\n{\n";
    for (int64_t k = 0; k < lm.size(0); ++k) pts << lm[k][0].item<float>() << ' ' << lm[k][1].item<float>() << '\n';
    pts << "}\n";
    factors << json{{"file", name}, {"factors", sample.meta}}.dump() << "\n";
    if ((i + 1) % kPngStride == 0 || i + 1 == dataset->size()) progress.update(static_cast<int64_t>(i + 1), {});
  }
  progress.finish();
  std::printf("wrote %zu faces (with .pts landmarks) and factors.jsonl to %s\n", dataset->size(), args.out.c_str());
  return 0;
}

struct PackArgs {
  std::string spec;
  std::string out;
  int64_t gzip = 0;
};

int run_pack(const PackArgs& args) {
  const json spec = json_argument(args.spec, "--dataset");
  const auto dataset = data::create_dataset(spec, "--dataset");
  pack_with_progress(*dataset, args.out, data::PackOptions().gzip_level(args.gzip), "pack");
  std::printf("wrote %zu samples of %s to %s\n", dataset->size(), dataset->type().c_str(), args.out.c_str());
  return 0;
}

}  // namespace

void add_data_commands(CLI::App& app, Invocation& invocation) {
  auto render_args = std::make_shared<RenderArgs>();
  auto* render = app.add_subcommand(
      "render", "Render synthetic faces to a folder of PNGs (+ factors.jsonl) or to an HDF5 file (.h5)");
  render->add_option("--out", render_args->out, "Output folder, or a file ending in .h5")->required();
  render->add_option("--count", render_args->count, "Number of faces")->check(CLI::PositiveNumber);
  render->add_option("--set", render_args->sets,
                     "Renderer option overrides, e.g. --set size=128 --set split=held_out --set seed=3");
  on_run(render, invocation, render_args, run_render);

  auto pack_args = std::make_shared<PackArgs>();
  auto* pack = app.add_subcommand("pack", "Pack any data set into one HDF5 file (layout: docs/hdf5-layout.md)");
  pack->add_option("--dataset", pack_args->spec,
                   "Data set spec as JSON or @file.json, e.g. '{\"type\":\"celeba\",\"root\":\"/data/celeba\"}'")
      ->required();
  pack->add_option("--out", pack_args->out, "Output .h5 file")->required();
  pack->add_option("--gzip", pack_args->gzip, "gzip level 0-9 (0: off, fastest to read)")->check(CLI::Range(0, 9));
  on_run(pack, invocation, pack_args, run_pack);
}

}  // namespace facegan::cli
