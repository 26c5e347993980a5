// The photo pipeline: reading photos (EXIF orientation, bad files), templates, alignment and
// paste-back on synthetic faces with exact landmarks, and dlib's detector and landmarks on a real
// photograph (scikit-image's public-domain astronaut portrait, fetched by scripts/setup.sh into
// $FACEGAN_HOME/photos). Tests that need the photo or dlib's model file are skipped when it is
// missing: under CTest with its skip code, run directly they fail saying why.
#include <facegan/core/error.hpp>
#include <facegan/data/align.hpp>
#include <facegan/data/face_detector.hpp>
#include <facegan/data/face_pipeline.hpp>
#include <facegan/data/synthetic_faces.hpp>

#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <unistd.h>

using namespace facegan;
namespace fs = std::filesystem;

namespace {

/// Stops a test whose input is not installed. Under CTest (tests/CMakeLists.txt sets
/// FACEGAN_SKIP_RETURN_CODE and SKIP_RETURN_CODE alike) the process exits with that code and CTest
/// lists the test as skipped; run by hand, the test fails with the reason: never a silent pass.
void skip(const std::string& why) {
  if (const char* code = std::getenv("FACEGAN_SKIP_RETURN_CODE")) {
    std::cout << "SKIPPED: " << why << std::endl;
    std::_Exit(std::atoi(code));
  }
  FAIL("not run: " << why);
}

/// Folder of the test photos: $FACEGAN_PHOTOS, else $FACEGAN_HOME/photos, else ~/.cache/facegan/photos.
fs::path photo_dir() {
  if (const char* d = std::getenv("FACEGAN_PHOTOS")) return d;
  if (const char* h = std::getenv("FACEGAN_HOME")) return fs::path(h) / "photos";
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr ? home : "/root") / ".cache" / "facegan" / "photos";
}

cv::Mat astronaut() {
  const fs::path p = photo_dir() / "astronaut.png";
  if (!fs::exists(p)) skip(p.string() + " is missing (scripts/setup.sh fetches it from scikit-image's wheel)");
  return data::read_photo(p.string());
}

/// One detector per test process (loading dlib's 100 MB model takes about a second).
const std::shared_ptr<const data::FaceDetector>& detector() {
  static std::shared_ptr<const data::FaceDetector> d = [] {
    const std::string model = data::resolve_landmark_model();
    if (!fs::exists(model)) skip("dlib's landmark model " + model + " is missing (apt-get install libdlib-data)");
    return std::make_shared<const data::FaceDetector>();
  }();
  return d;
}

cv::Point2f mean_of(const std::vector<cv::Point2f>& p, int first, int last) {
  cv::Point2f s(0.f, 0.f);
  for (int i = first; i <= last; ++i) s += p[static_cast<size_t>(i)];
  return s * (1.0f / static_cast<float>(last - first + 1));
}

/// The iBUG order, checked on geometry a swap or shuffle would break: the image-left eye is left
/// of the other, jaw 0 left of jaw 16, brows above eyes above the nose tip above the mouth above
/// the chin, and the nose tip between the eyes.
void check_landmark_order(const std::vector<cv::Point2f>& lm) {
  REQUIRE(lm.size() == 68);
  const cv::Point2f left_eye = mean_of(lm, 36, 41), right_eye = mean_of(lm, 42, 47);
  const cv::Point2f mouth = mean_of(lm, 48, 59);
  CHECK(left_eye.x < right_eye.x);
  CHECK(lm[0].x < lm[16].x);
  CHECK(lm[48].x < lm[54].x);
  CHECK(mean_of(lm, 17, 21).y < left_eye.y);
  CHECK(mean_of(lm, 22, 26).y < right_eye.y);
  CHECK(std::max(left_eye.y, right_eye.y) < lm[30].y);
  CHECK(lm[30].y < mouth.y);
  CHECK(mouth.y < lm[8].y);
  CHECK(lm[30].x > left_eye.x);
  CHECK(lm[30].x < right_eye.x);
}

/// A JPEG of `image` with an EXIF APP1 segment (big-endian TIFF, one IFD0 entry: Orientation =
/// `orientation`) right after SOI.
std::string jpeg_with_orientation(const cv::Mat& image, int orientation) {
  std::vector<uchar> jpeg;
  REQUIRE(cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, 98}));
  const unsigned char o = static_cast<unsigned char>(orientation);
  const std::vector<unsigned char> app1 = {
      0xFF, 0xE1, 0x00, 34,                          // APP1, length 34 (itself included)
      'E',  'x',  'i',  'f', 0, 0,                   // Exif header
      'M',  'M',  0x00, 0x2A, 0, 0, 0, 8,            // TIFF: big-endian, IFD0 at offset 8
      0x00, 0x01,                                    // one entry
      0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0, o, 0, 0,  // Orientation, SHORT, 1 value
      0,    0,    0,    0};                          // no next IFD
  std::string out(jpeg.begin(), jpeg.begin() + 2);
  out.append(app1.begin(), app1.end());
  out.append(jpeg.begin() + 2, jpeg.end());
  return out;
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// The mean colour of a small square around (x, y).
cv::Scalar patch(const cv::Mat& m, int x, int y) { return cv::mean(m(cv::Rect(x - 2, y - 2, 5, 5))); }

bool near_colour(const cv::Scalar& a, const cv::Scalar& b) {
  return std::abs(a[0] - b[0]) < 20 && std::abs(a[1] - b[1]) < 20 && std::abs(a[2] - b[2]) < 20;
}

/// A rendered face (neutral, mean pose) moved into a larger noisy canvas by a similarity, with its
/// landmarks moved alike: a "photo" whose 68 points are exact.
struct PlacedFace {
  cv::Mat photo;
  std::vector<cv::Point2f> landmarks;
};

PlacedFace place_rendered_face(int64_t identity, double angle_deg, double scale, cv::Point2f offset, cv::Size canvas) {
  const data::SyntheticFaces renderer(data::SyntheticFacesOptions().size(128));
  data::FaceFactors f;
  f.identity = identity;
  const data::RenderedFace r = renderer.render(f);
  cv::Mat m = cv::getRotationMatrix2D(cv::Point2f(63.5f, 63.5f), angle_deg, scale);
  m.at<double>(0, 2) += offset.x;
  m.at<double>(1, 2) += offset.y;
  PlacedFace out;
  cv::theRNG().state = 12345;
  out.photo.create(canvas, CV_8UC3);
  cv::randu(out.photo, cv::Scalar::all(0), cv::Scalar::all(256));
  cv::warpAffine(r.image, out.photo, m, canvas, cv::INTER_LINEAR, cv::BORDER_TRANSPARENT);
  out.landmarks = data::transform_points(m, r.landmarks);
  return out;
}

/// Mean absolute difference (grey levels, over channels) of two images where alpha >= `min_alpha`.
double masked_error(const cv::Mat& a, const cv::Mat& b, const cv::Mat& alpha, float min_alpha) {
  double sum = 0.0;
  int64_t n = 0;
  for (int y = 0; y < a.rows; ++y) {
    for (int x = 0; x < a.cols; ++x) {
      if (alpha.at<float>(y, x) < min_alpha) continue;
      const cv::Vec3b p = a.at<cv::Vec3b>(y, x), q = b.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) sum += std::abs(static_cast<int>(p[c]) - static_cast<int>(q[c]));
      n += 3;
    }
  }
  return n > 0 ? sum / static_cast<double>(n) : 0.0;
}

/// Whether every pixel of `after` outside the pasted alphas (alpha == 0 or outside each ROI) has
/// `before`'s bytes.
bool unchanged_outside(const cv::Mat& before, const cv::Mat& after, const std::vector<data::PastedFace>& pasted) {
  cv::Mat inside = cv::Mat::zeros(before.size(), CV_8U);
  for (const auto& p : pasted) {
    cv::Mat nz = p.alpha > 0.f;
    cv::Mat roi = inside(p.roi);
    cv::bitwise_or(roi, nz, roi);
  }
  cv::Mat diff;
  cv::absdiff(before, after, diff);
  cv::Mat changed;
  cv::cvtColor(diff, changed, cv::COLOR_BGR2GRAY);
  changed = changed > 0;
  cv::Mat outside_changed;
  cv::bitwise_and(changed, ~inside, outside_changed);
  return cv::countNonZero(outside_changed) == 0;
}

}  // namespace

TEST_CASE("read_photo applies a JPEG's EXIF orientation and names bad files", "[face]") {
  const fs::path dir = fs::temp_directory_path() / ("facegan_test_photo_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // 60 wide, 40 high: red top-left quarter, green top-right, blue bottom-left, white bottom-right.
  cv::Mat image(40, 60, CV_8UC3);
  image(cv::Rect(0, 0, 30, 20)).setTo(cv::Scalar(0, 0, 255));
  image(cv::Rect(30, 0, 30, 20)).setTo(cv::Scalar(0, 255, 0));
  image(cv::Rect(0, 20, 30, 20)).setTo(cv::Scalar(255, 0, 0));
  image(cv::Rect(30, 20, 30, 20)).setTo(cv::Scalar(255, 255, 255));
  const cv::Scalar red(0, 0, 255), green(0, 255, 0), blue(255, 0, 0), white(255, 255, 255);

  // 1: as stored.
  write_bytes(dir / "o1.jpg", jpeg_with_orientation(image, 1));
  cv::Mat p = data::read_photo((dir / "o1.jpg").string());
  CHECK(p.size() == cv::Size(60, 40));
  CHECK(near_colour(patch(p, 5, 5), red));
  // 6: the stored image is shown turned 90 degrees clockwise: 40 wide, 60 high, red top-right.
  write_bytes(dir / "o6.jpg", jpeg_with_orientation(image, 6));
  p = data::read_photo((dir / "o6.jpg").string());
  CHECK(p.size() == cv::Size(40, 60));
  CHECK(near_colour(patch(p, 34, 5), red));
  CHECK(near_colour(patch(p, 34, 54), green));
  CHECK(near_colour(patch(p, 5, 5), blue));
  // 3: turned 180 degrees: white top-left, red bottom-right.
  write_bytes(dir / "o3.jpg", jpeg_with_orientation(image, 3));
  p = data::read_photo((dir / "o3.jpg").string());
  CHECK(p.size() == cv::Size(60, 40));
  CHECK(near_colour(patch(p, 5, 5), white));
  CHECK(near_colour(patch(p, 54, 34), red));
  // 8: turned 90 degrees counter-clockwise: red bottom-left.
  write_bytes(dir / "o8.jpg", jpeg_with_orientation(image, 8));
  p = data::read_photo((dir / "o8.jpg").string());
  CHECK(p.size() == cv::Size(40, 60));
  CHECK(near_colour(patch(p, 5, 54), red));

  // Bad files: each message names the file.
  const std::string missing = (dir / "missing.jpg").string();
  CHECK_THROWS_WITH(data::read_photo(missing), Catch::Contains(missing) && Catch::Contains("does not exist"));
  CHECK_THROWS_WITH(data::read_photo(dir.string()), Catch::Contains("is not a file"));
  const std::string text = (dir / "notes.jpg").string();
  write_bytes(text, "these are not pixels\n");
  CHECK_THROWS_AS(data::read_photo(text), DataError);
  CHECK_THROWS_WITH(data::read_photo(text), Catch::Contains(text));
  // A JPEG cut in half: libjpeg would return grey rows; read_photo refuses it.
  const std::string whole = jpeg_with_orientation(image, 1);
  const std::string cut = (dir / "cut.jpg").string();
  write_bytes(cut, whole.substr(0, whole.size() / 2));
  CHECK_THROWS_WITH(data::read_photo(cut), Catch::Contains(cut) && Catch::Contains("truncated"));
  // A PNG cut in half.
  std::vector<uchar> png;
  cv::Mat noise(64, 64, CV_8UC3);
  cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(256));
  REQUIRE(cv::imencode(".png", noise, png));
  const std::string cut_png = (dir / "cut.png").string();
  write_bytes(cut_png, std::string(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(png.size() / 2)));
  CHECK_THROWS_WITH(data::read_photo(cut_png), Catch::Contains(cut_png));
  fs::remove_all(dir);
}

TEST_CASE("face templates: ArcFace's, the renderer's, and from a run's config", "[face]") {
  const auto arc = data::FaceTemplate::arcface(112);
  const auto five = data::five_point_template(112);
  REQUIRE(arc.points.size() == 5);
  for (size_t i = 0; i < 5; ++i) CHECK(cv::norm(arc.points[i] - five[i]) < 1e-6);
  // resized() scales about pixel edges, as five_point_template does.
  const auto big = arc.resized(224), direct = data::FaceTemplate::arcface(224);
  for (size_t i = 0; i < 5; ++i) CHECK(cv::norm(big.points[i] - direct.points[i]) < 1e-4);

  // The renderer's template: a neutral render at the mean pose has its five points there, within
  // the spread of identities (a few percent of the side).
  const auto opts = data::SyntheticFacesOptions().size(64);
  const auto tmpl = data::FaceTemplate::renderer(opts);
  CHECK(tmpl.size == 64);
  CHECK(tmpl.points[0].x < tmpl.points[1].x);
  CHECK(tmpl.points[1].y < tmpl.points[2].y);
  CHECK(tmpl.points[2].y < tmpl.points[3].y);
  data::FaceFactors f;
  f.identity = 30;
  f.attributes.scale = 0.94;
  const auto rendered = data::five_points_from_68(data::SyntheticFaces(opts).render(f).landmarks);
  for (size_t i = 0; i < 5; ++i) CHECK(cv::norm(rendered[i] - tmpl.points[i]) < 0.06 * 64);

  json config = {{"trainer", json::object()}, {"task", {{"type", "derl"}}},
                 {"data", {{"train", {{"type", "synthetic_pairs"}, {"pairing", "neutralize"}, {"size", 32}}}}}};
  auto t = data::face_template_from_config(config, "run.json");
  CHECK(t.size == 32);
  CHECK(t.source.find("renderer") != std::string::npos);
  const auto t32 = data::FaceTemplate::renderer(data::SyntheticFacesOptions().size(32));
  for (size_t i = 0; i < 5; ++i) CHECK(cv::norm(t.points[i] - t32.points[i]) < 1e-4);
  CHECK(data::face_template_from_config(config, "run.json", 64).size == 64);

  config["data"]["train"] = {{"type", "celeba"}, {"root", "x"}, {"image_size", 128}, {"align", true}, {"align_padding", 0.1}};
  t = data::face_template_from_config(config, "run.json");
  const auto celeba = data::five_point_template(128, 0.1);
  for (size_t i = 0; i < 5; ++i) CHECK(cv::norm(t.points[i] - celeba[i]) < 1e-6);
  config["data"]["train"] = {{"type", "identity_pairs"}, {"base", config["data"]["train"]}};
  CHECK(data::face_template_from_config(config, "run.json").size == 128);
  config["data"]["train"] = {{"type", "mt_makeup_pairs"}, {"root", "x"}, {"image_size", 256}};
  t = data::face_template_from_config(config, "run.json");
  CHECK(t.size == 256);
  CHECK(t.source.find("guess") != std::string::npos);
  config["data"]["train"] = {{"type", "hdf5"}, {"path", "x.h5"}};
  CHECK_THROWS_WITH(data::face_template_from_config(config, "run.json"),
                    Catch::Contains("run.json.data.train") && Catch::Contains("--size"));
  CHECK(data::face_template_from_config(config, "run.json", 96).size == 96);
  CHECK_THROWS_WITH(data::face_template_from_config(json{{"trainer", json::object()}}, "run.json"),
                    Catch::Contains("run.json") && Catch::Contains("data.train"));
  config["data"]["train"] = {{"type", "synthetic_faces"}, {"sise", 32}};
  CHECK_THROWS_WITH(data::face_template_from_config(config, "run.json"), Catch::Contains("sise"));
}

TEST_CASE("face choices parse and bad spellings are named", "[face]") {
  CHECK(data::FaceChoice::parse("all").kind == data::FaceChoice::Kind::kAll);
  CHECK(data::FaceChoice::parse("largest").kind == data::FaceChoice::Kind::kLargest);
  const auto c = data::FaceChoice::parse("3");
  CHECK(c.kind == data::FaceChoice::Kind::kIndex);
  CHECK(c.index == 3);
  CHECK(c.to_string() == "3");
  CHECK_THROWS_WITH(data::FaceChoice::parse("biggest", "--face"), Catch::Contains("--face") && Catch::Contains("biggest"));
  CHECK_THROWS_AS(data::FaceChoice::parse("-1"), ConfigError);
}

TEST_CASE("alignment and paste-back on a placed render: exact outside the mask, small error inside", "[face]") {
  // A 128 px render turned 17 degrees and scaled 1.6 into a 360 x 300 canvas of noise.
  const PlacedFace placed = place_rendered_face(7, 17.0, 1.6, {80.f, 70.f}, {360, 300});
  const data::FacePipeline pipeline;  // no detector: the face is given by its landmarks
  const auto faces = pipeline.find_faces(placed.photo, "placed.png", placed.landmarks);
  REQUIRE(faces.size() == 1);
  CHECK(std::isnan(faces[0].score));
  CHECK_THROWS_WITH(pipeline.find_faces(placed.photo, "placed.png"), Catch::Contains("no face detector"));
  CHECK_THROWS_WITH(pipeline.find_faces(placed.photo, "placed.png", {{1.f, 2.f}}),
                    Catch::Contains("placed.png") && Catch::Contains("68"));

  // Alignment puts the five points on the template (the renderer's, at 64 px).
  const auto tmpl = data::FaceTemplate::renderer(data::SyntheticFacesOptions().size(64));
  const auto aligned = pipeline.select(placed.photo, faces, data::FaceChoice::parse("all"), tmpl, "placed.png");
  REQUIRE(aligned.size() == 1);
  CHECK(aligned[0].crop.size() == cv::Size(64, 64));
  const auto five = data::five_points_from_68(aligned[0].crop_landmarks);
  double five_error = 0.0;
  for (size_t i = 0; i < 5; ++i) five_error += cv::norm(five[i] - tmpl.points[i]) / 5.0;
  CHECK(five_error < 2.0);  // one identity against the mean of 16

  // keep_detail with an edit that changes nothing: the photo comes back byte for byte.
  std::vector<data::PastedFace> pasted;
  cv::Mat same = pipeline.apply(placed.photo, aligned, [](const data::AlignedPhotoFace& f) { return f.crop.clone(); }, &pasted);
  CHECK(cv::norm(same, placed.photo, cv::NORM_INF) == 0.0);

  // Replacing the face with its own crop warped back: the error is resampling only. At a crop as
  // fine as the face in the photo (the face spans ~200 px; crop 256) it is small.
  const auto fine_tmpl = tmpl.resized(256);
  const auto fine = pipeline.select(placed.photo, faces, data::FaceChoice::parse("0"), fine_tmpl, "placed.png");
  const data::FacePipeline replace(data::FacePipelineOptions().keep_detail(false));
  pasted.clear();
  cv::Mat back = replace.apply(placed.photo, fine, [](const data::AlignedPhotoFace& f) { return f.crop.clone(); }, &pasted);
  REQUIRE(pasted.size() == 1);
  const cv::Rect roi = pasted[0].roi;
  const double err = masked_error(back(roi), placed.photo(roi), pasted[0].alpha, 0.5f);
  std::cout << "[face] synthetic align + inverse warp (crop 256, replace): mean abs error " << err
            << " grey levels inside the mask" << std::endl;
  CHECK(err < 4.0);
  CHECK(unchanged_outside(placed.photo, back, pasted));

  // An edit that paints the crop white changes the face, and nothing outside the mask.
  pasted.clear();
  const cv::Mat white = pipeline.apply(
      placed.photo, aligned, [](const data::AlignedPhotoFace& f) { return cv::Mat(f.crop.size(), CV_8UC3, cv::Scalar::all(255)); },
      &pasted);
  CHECK(unchanged_outside(placed.photo, white, pasted));
  CHECK(cv::norm(white, placed.photo, cv::NORM_INF) > 100.0);
  // The nose tip is deep inside the mask: it turned white.
  const cv::Point nose(static_cast<int>(std::lround(placed.landmarks[30].x)), static_cast<int>(std::lround(placed.landmarks[30].y)));
  CHECK(white.at<cv::Vec3b>(nose) == cv::Vec3b(255, 255, 255));
  // A corner of the canvas is far outside: untouched.
  CHECK(white.at<cv::Vec3b>(0, 0) == placed.photo.at<cv::Vec3b>(0, 0));

  // The mask: 0 on the crop border, 1 at the nose, values in [0, 1].
  const cv::Mat mask = data::face_blend_mask(aligned[0].crop_landmarks, 64, pipeline.options());
  double lo = 0, hi = 0;
  cv::minMaxLoc(mask, &lo, &hi);
  CHECK(lo == 0.0);
  CHECK(hi <= 1.0);
  CHECK(mask.at<float>(0, 0) == 0.f);
  const cv::Point2f n = aligned[0].crop_landmarks[30];
  CHECK(mask.at<float>(static_cast<int>(std::lround(n.y)), static_cast<int>(std::lround(n.x))) > 0.99f);
  CHECK_THROWS_WITH(data::paste_face(back, aligned[0], cv::Mat(32, 32, CV_8UC3), pipeline.options()),
                    Catch::Contains("32x32") && Catch::Contains("64x64"));
}

TEST_CASE("a missing or wrong landmark model is an error naming the file", "[face]") {
  CHECK_THROWS_WITH(data::FaceDetector(data::FaceDetectorOptions().landmark_model("/nonexistent/sp68.dat")),
                    Catch::Contains("/nonexistent/sp68.dat") && Catch::Contains("libdlib-data"));
  const std::string junk = (fs::temp_directory_path() / ("facegan_junk_model_" + std::to_string(::getpid()) + ".dat")).string();
  write_bytes(junk, "not a model");
  CHECK_THROWS_WITH(data::FaceDetector(data::FaceDetectorOptions().landmark_model(junk)),
                    Catch::Contains(junk) && Catch::Contains("not a dlib shape predictor"));
  fs::remove(junk);
  // The environment names the model when the option does not; the option wins.
  ::setenv(data::kLandmarkModelEnv, "/from/env.dat", 1);
  CHECK(data::resolve_landmark_model() == "/from/env.dat");
  CHECK(data::resolve_landmark_model("/from/option.dat") == "/from/option.dat");
  ::unsetenv(data::kLandmarkModelEnv);
  CHECK(data::resolve_landmark_model() == data::default_landmark_model());
  CHECK_THROWS_WITH(data::FaceDetector(data::FaceDetectorOptions().upsample(5)), Catch::Contains("upsample"));
}

TEST_CASE("dlib finds the astronaut's face and 68 landmarks in order, align + inverse warp", "[face]") {
  const cv::Mat photo = astronaut();
  const auto& det = *detector();
  const auto faces = det.detect(photo);
  REQUIRE(faces.size() == 1);
  const auto& face = faces[0];
  CHECK(face.score > 0.0);
  // The face (Eileen Collins) is in the upper middle of the 512 x 512 portrait, about 100-200 px.
  CHECK(face.box.width > 80);
  CHECK(face.box.width < 260);
  CHECK(face.box.x + face.box.width / 2 > 150);
  CHECK(face.box.x + face.box.width / 2 < 330);
  CHECK(face.box.y + face.box.height / 2 < 256);
  // Every landmark inside the box (grown by 15 %: the jaw line and brows may cross dlib's tight box).
  const float gx = 0.15f * face.box.width, gy = 0.15f * face.box.height;
  const cv::Rect2f grown(face.box.x - gx, face.box.y - gy, face.box.width + 2 * gx, face.box.height + 2 * gy);
  for (const auto& p : face.landmarks) CHECK(grown.contains(p));
  check_landmark_order(face.landmarks);

  // Alignment then inverse warp returns the face: crop 256 (finer than the face), replace mode.
  const data::FacePipeline replace(data::FacePipelineOptions().keep_detail(false), detector());
  const auto tmpl = data::FaceTemplate::arcface(256, 0.25);
  const auto aligned = replace.select(photo, faces, data::FaceChoice::parse("largest"), tmpl, "astronaut.png");
  std::vector<data::PastedFace> pasted;
  const cv::Mat back = replace.apply(photo, aligned, [](const data::AlignedPhotoFace& f) { return f.crop.clone(); }, &pasted);
  REQUIRE(pasted.size() == 1);
  const double err = masked_error(back(pasted[0].roi), photo(pasted[0].roi), pasted[0].alpha, 0.5f);
  const double err_all = masked_error(back(pasted[0].roi), photo(pasted[0].roi), pasted[0].alpha, 1e-6f);
  std::cout << "[face] astronaut align + inverse warp (crop 256, replace): mean abs error " << err
            << " grey levels where alpha >= 0.5, " << err_all << " where alpha > 0" << std::endl;
  CHECK(err < 3.0);
  CHECK(unchanged_outside(photo, back, pasted));

  // At a model-sized crop (64 px) the edit's change is pasted (keep_detail): an edit that darkens
  // the crop darkens the face in the photo and nothing outside the mask.
  const data::FacePipeline pipeline(data::FacePipelineOptions(), detector());
  const auto small = pipeline.select(photo, faces, data::FaceChoice::parse("all"), tmpl.resized(64), "astronaut.png");
  pasted.clear();
  const cv::Mat dark = pipeline.apply(photo, small, [](const data::AlignedPhotoFace& f) { return cv::Mat(f.crop * 0.5); }, &pasted);
  CHECK(unchanged_outside(photo, dark, pasted));
  const cv::Point nose(static_cast<int>(std::lround(face.landmarks[30].x)), static_cast<int>(std::lround(face.landmarks[30].y)));
  CHECK(cv::sum(dark.at<cv::Vec3b>(nose))[0] < 0.7 * cv::sum(photo.at<cv::Vec3b>(nose))[0]);

  // The pipeline's own search gives the same face; the JSON and the drawing carry it.
  const auto found = pipeline.find_faces(photo, "astronaut.png");
  REQUIRE(found.size() == 1);
  CHECK(cv::norm(found[0].landmarks[30] - face.landmarks[30]) < 1e-3);
  const json j = data::face_to_json(found[0], 0);
  CHECK(j.at("landmarks").size() == 68);
  CHECK(j.at("box").size() == 4);
  const cv::Mat drawn = data::draw_faces(photo, found, {0}, {"happy"});
  CHECK(drawn.size() == photo.size());
  CHECK(cv::norm(drawn, photo, cv::NORM_INF) > 0.0);
}

TEST_CASE("several faces are numbered left to right, largest, by number, too small and none", "[face]") {
  const cv::Mat photo = astronaut();
  // Two people on one canvas: the portrait at 0.8 on the left, mirrored at 1.3 on the right.
  cv::Mat canvas(700, 1100, CV_8UC3, cv::Scalar(90, 110, 120));
  cv::Mat a, b;
  cv::resize(photo, a, {410, 410}, 0, 0, cv::INTER_AREA);
  cv::resize(photo, b, {666, 666}, 0, 0, cv::INTER_LINEAR);
  cv::flip(b, b, 1);
  a.copyTo(canvas(cv::Rect(20, 150, 410, 410)));
  b.copyTo(canvas(cv::Rect(430, 20, 666, 666)));
  const data::FacePipeline pipeline(data::FacePipelineOptions(), detector());
  const auto faces = pipeline.find_faces(canvas, "two.png");
  REQUIRE(faces.size() == 2);
  CHECK(faces[0].box.x < faces[1].box.x);
  CHECK(faces[1].box.area() > faces[0].box.area());
  for (const auto& f : faces) check_landmark_order(f.landmarks);  // the mirrored face too: no swap
  const auto tmpl = data::FaceTemplate::arcface(64, 0.25);
  CHECK(pipeline.select(canvas, faces, data::FaceChoice::parse("all"), tmpl, "two.png").size() == 2);
  const auto largest = pipeline.select(canvas, faces, data::FaceChoice::parse("largest"), tmpl, "two.png");
  REQUIRE(largest.size() == 1);
  CHECK(largest[0].index == 1);
  const auto first = pipeline.select(canvas, faces, data::FaceChoice::parse("0"), tmpl, "two.png");
  CHECK(first[0].index == 0);
  CHECK_THROWS_WITH(pipeline.select(canvas, faces, data::FaceChoice::parse("2"), tmpl, "two.png"),
                    Catch::Contains("two.png has 2 faces") && Catch::Contains("no face 2"));
  // At dlib's own threshold (0, not facegan's 0.25) the left mission patch is a third "face" with
  // a score below 0.25: why facegan's default is higher.
  const data::FaceDetector dlib_default(data::FaceDetectorOptions().threshold(0.0));
  const auto loose = dlib_default.detect(canvas);
  CHECK(loose.size() == 3);
  for (const auto& f : loose) {
    const bool is_face = cv::norm(f.landmarks[30] - faces[0].landmarks[30]) < 2.f ||
                         cv::norm(f.landmarks[30] - faces[1].landmarks[30]) < 2.f;
    CHECK((is_face ? f.score > 1.0 : f.score < 0.25));
  }
  // Pasting both faces changes nothing outside their masks.
  std::vector<data::PastedFace> pasted;
  const auto both = pipeline.select(canvas, faces, data::FaceChoice::parse("all"), tmpl, "two.png");
  const cv::Mat edited = pipeline.apply(canvas, both, [](const data::AlignedPhotoFace& f) { return cv::Mat(255 - f.crop); }, &pasted);
  CHECK(pasted.size() == 2);
  CHECK(unchanged_outside(canvas, edited, pasted));

  // Too small: with a minimum between the two faces' sizes, "all" keeps the large one and says
  // which it left out; asking for the small one is an error naming the photo.
  const float mid = 0.5f * (faces[0].box.width + faces[1].box.width);
  const data::FacePipeline picky(data::FacePipelineOptions().min_face_size(static_cast<int64_t>(mid)), detector());
  std::vector<int64_t> skipped;
  const auto kept = picky.select(canvas, faces, data::FaceChoice::parse("all"), tmpl, "two.png", &skipped);
  REQUIRE(kept.size() == 1);
  CHECK(kept[0].index == 1);
  CHECK(skipped == std::vector<int64_t>{0});
  CHECK_THROWS_WITH(picky.select(canvas, faces, data::FaceChoice::parse("0"), tmpl, "two.png"),
                    Catch::Contains("face 0 of two.png is too small"));
  const data::FacePipeline pickier(data::FacePipelineOptions().min_face_size(2000), detector());
  CHECK_THROWS_WITH(pickier.select(canvas, faces, data::FaceChoice::parse("all"), tmpl, "two.png"),
                    Catch::Contains("too small"));

  // No face: a plain wall, and the portrait shrunk until the face is below HOG's 80 px window.
  const cv::Mat wall(300, 400, CV_8UC3, cv::Scalar(200, 190, 180));
  CHECK_THROWS_WITH(pipeline.find_faces(wall, "wall.jpg"), Catch::Contains("no face found in wall.jpg") &&
                                                                 Catch::Contains("--landmarks"));
  cv::Mat tiny;
  cv::resize(photo, tiny, {128, 128}, 0, 0, cv::INTER_AREA);
  CHECK_THROWS_WITH(pipeline.find_faces(tiny, "tiny.png"), Catch::Contains("no face found in tiny.png"));
}

TEST_CASE("a 4000 x 3000 photo: the face is found and its landmarks scale with it", "[face]") {
  const cv::Mat photo = astronaut();
  const auto small = detector()->detect(photo);
  REQUIRE(small.size() == 1);
  // The portrait enlarged 4x (2048 px) inside a 4000 x 3000 canvas at (1500, 600).
  cv::Mat canvas(3000, 4000, CV_8UC3, cv::Scalar(60, 70, 80));
  cv::Mat big;
  cv::resize(photo, big, {2048, 2048}, 0, 0, cv::INTER_CUBIC);
  big.copyTo(canvas(cv::Rect(1500, 600, 2048, 2048)));
  const auto faces = detector()->detect(canvas);
  REQUIRE(faces.size() == 1);
  // Landmarks 4x those of the original (pixel centres: x' = 4 (x + 0.5) - 0.5 + offset), within a
  // few percent of the face: the detector box differs by the scan's resampling.
  double error = 0.0;
  for (size_t i = 0; i < 68; ++i) {
    const cv::Point2f expected(4.f * (small[0].landmarks[i].x + 0.5f) - 0.5f + 1500.f,
                               4.f * (small[0].landmarks[i].y + 0.5f) - 0.5f + 600.f);
    error += cv::norm(faces[0].landmarks[i] - expected) / 68.0;
  }
  std::cout << "[face] 4000x3000: mean landmark distance to 4x the 512 px landmarks " << error << " px (face "
            << faces[0].box.width << " px wide)" << std::endl;
  CHECK(error < 0.05 * faces[0].box.width);
}

TEST_CASE("dlib's landmarks on synthetic renders against the renderer's exact ones", "[face]") {
  const auto& det = *detector();
  const data::SyntheticFaces renderer(data::SyntheticFacesOptions().size(256));
  int found = 0;
  double error = 0.0, iod = 0.0;
  const int n = 8;
  for (int id = 0; id < n; ++id) {
    data::FaceFactors f;
    f.identity = id;
    const auto r = renderer.render(f);
    const auto faces = det.detect(r.image);
    if (faces.size() != 1) continue;
    ++found;
    double e = 0.0;
    for (size_t i = 0; i < 68; ++i) e += cv::norm(faces[0].landmarks[i] - r.landmarks[i]) / 68.0;
    error += e;
    iod += cv::norm(mean_of(r.landmarks, 36, 41) - mean_of(r.landmarks, 42, 47));
    check_landmark_order(faces[0].landmarks);
  }
  std::cout << "[face] synthetic 256 px renders: " << found << "/" << n << " detected; mean landmark error "
            << (found > 0 ? error / found : 0.0) << " px (mean inter-ocular distance "
            << (found > 0 ? iod / found : 0.0) << " px)" << std::endl;
  REQUIRE(found >= n / 2);
  CHECK(found == n);
  // Measured: 8/8 found, 2.6 px mean error at an inter-ocular distance of 62 px (4 %).
  CHECK(error / found < 0.1 * iod / found);
}
