#include <facegan/core/error.hpp>
#include <facegan/data/align.hpp>
#include <facegan/data/face_pipeline.hpp>
#include <facegan/data/identity_pairs.hpp>
#include <facegan/data/makeup_pairs.hpp>
#include <facegan/data/synthetic_pairs.hpp>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

namespace facegan::data {
namespace {

namespace fs = std::filesystem;

double round2(double v) { return std::round(v * 100.0) / 100.0; }

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", v);
  return text;
}

/// The renderer options inside a synthetic data set's spec (they are flattened into it).
SyntheticFacesOptions renderer_options(const std::string& type, const json& spec, const std::string& where) {
  json options = spec;
  options.erase("type");
  if (type == "synthetic_faces") return apply_json(SyntheticFacesDatasetOptions(), options, where).renderer();
  if (type == "synthetic_pairs") return apply_json(SyntheticPairsOptions(), options, where).renderer();
  if (type == "synthetic_makeup") return apply_json(SyntheticMakeupOptions(), options, where).renderer();
  return apply_json(SyntheticIdentityPairsOptions(), options, where).renderer();
}

/// The spec's image side under `key` (0 when absent).
int64_t spec_size(const json& spec, const char* key, const std::string& where) {
  if (!spec.contains(key)) return 0;
  if (!spec.at(key).is_number_integer()) {
    throw ConfigError(where + "." + key + ": expected an integer, got " + spec.at(key).dump());
  }
  return spec.at(key).get<int64_t>();
}

/// `size_hint` (> 0) stands in for a size the spec does not state.
FaceTemplate template_of_spec(const json& spec, const std::string& where, int64_t size_hint) {
  if (!spec.is_object() || !spec.contains("type") || !spec.at("type").is_string()) {
    throw ConfigError(where + ": expected a data set spec {\"type\": ..., ...}");
  }
  const std::string type = spec.at("type").get<std::string>();
  if (type == "synthetic_faces" || type == "synthetic_pairs" || type == "synthetic_makeup" ||
      type == "synthetic_identity_pairs") {
    return FaceTemplate::renderer(renderer_options(type, spec, where));
  }
  if (type == "identity_pairs") {
    if (!spec.contains("base")) throw ConfigError(where + ".base: missing (identity_pairs needs a base data set)");
    return template_of_spec(spec.at("base"), where + ".base", size_hint);
  }
  int64_t size = spec_size(spec, "image_size", where);
  if (size == 0) size = spec_size(spec, "size", where);
  if (size <= 0) size = size_hint;
  const bool aligned = spec.value("align", false);
  if ((type == "celeba" || type == "ck_plus") && aligned) {
    if (size <= 0) {
      throw ConfigError(where + ".image_size: 0 (each image's own size) leaves the model's crop size unknown; "
                        "give the size explicitly (--size)");
    }
    const double padding = spec.value("align_padding", 0.0);
    FaceTemplate t = FaceTemplate::arcface(size, padding);
    t.source = "arcface (" + where + ": " + type + " aligned, padding " + number(padding) + ")";
    return t;
  }
  if (size <= 0) {
    throw ConfigError(where + ": data set '" + type +
                      "' states no image size (image_size), so the model's crop size is unknown; give it with --size");
  }
  FaceTemplate t = FaceTemplate::arcface(size, 0.25);
  t.source = "arcface padding 0.25 (a guess: " + where + " '" + type + "' was not aligned by facegan)";
  return t;
}

/// The 8-bit BGR image of a photo-level call; DataError otherwise.
void check_bgr(const cv::Mat& image, const char* what) {
  if (image.empty() || image.type() != CV_8UC3) {
    throw DataError(std::string(what) + ": expected an 8-bit BGR image, got " +
                    (image.empty() ? std::string("an empty one") : "OpenCV type " + std::to_string(image.type())));
  }
}

/// Bounding box of points.
cv::Rect2f bounds(const std::vector<cv::Point2f>& points) {
  float x0 = std::numeric_limits<float>::max(), y0 = x0, x1 = -x0, y1 = -x0;
  for (const auto& p : points) {
    x0 = std::min(x0, p.x), y0 = std::min(y0, p.y), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y);
  }
  return {x0, y0, x1 - x0, y1 - y0};
}

float face_side(const DetectedFace& face) { return std::min(face.box.width, face.box.height); }

/// The 2x3 map from ROI pixels (photo pixels minus roi.tl()) to crop pixels scaled by k about pixel
/// edges: crop' = k * (M (q + tl) + 0.5) - 0.5.
cv::Mat roi_to_crop(const cv::Mat& transform, const cv::Rect& roi, double k) {
  cv::Mat m;
  transform.convertTo(m, CV_64F);
  cv::Mat out(2, 3, CV_64F);
  for (int r = 0; r < 2; ++r) {
    const double a = m.at<double>(r, 0), b = m.at<double>(r, 1), c = m.at<double>(r, 2);
    out.at<double>(r, 0) = k * a;
    out.at<double>(r, 1) = k * b;
    out.at<double>(r, 2) = k * (a * roi.x + b * roi.y + c + 0.5) - 0.5;
  }
  return out;
}

}  // namespace

// --------------------------------------------------------------------------------------------
FaceTemplate FaceTemplate::arcface(int64_t size, double padding) {
  if (size <= 0) throw ConfigError("face template: size must be positive, got " + std::to_string(size));
  FaceTemplate t;
  t.size = size;
  t.points = five_point_template(static_cast<int>(size), padding);
  t.source = "arcface padding " + number(padding);
  return t;
}

FaceTemplate FaceTemplate::renderer(const SyntheticFacesOptions& options, int64_t identities) {
  const SyntheticFaces faces(options);
  const int64_t n = std::max<int64_t>(1, std::min(identities, faces.num_train_identities()));
  std::vector<cv::Point2f> sum(5, cv::Point2f(0.f, 0.f));
  for (int64_t id = 0; id < n; ++id) {
    FaceFactors f;
    f.identity = id;
    f.attributes.scale = 0.5 * (options.min_scale() + options.max_scale());
    const auto five = five_points_from_68(faces.render(f).landmarks);
    for (size_t i = 0; i < 5; ++i) sum[i] += five[i];
  }
  FaceTemplate t;
  t.size = options.size();
  for (auto& p : sum) t.points.push_back(p * (1.0f / static_cast<float>(n)));
  t.source = "renderer (" + std::to_string(n) + " neutral identities at scale " +
             number(0.5 * (options.min_scale() + options.max_scale())) + ")";
  return t;
}

FaceTemplate FaceTemplate::resized(int64_t new_size) const {
  if (new_size <= 0) throw ConfigError("face template: size must be positive, got " + std::to_string(new_size));
  FaceTemplate t = *this;
  t.size = new_size;
  const float k = static_cast<float>(new_size) / static_cast<float>(size);
  for (auto& p : t.points) p = {(p.x + 0.5f) * k - 0.5f, (p.y + 0.5f) * k - 0.5f};
  return t;
}

FaceTemplate face_template_from_config(const json& run_config, const std::string& where, int64_t size) {
  if (!run_config.is_object() || !run_config.contains("data") || !run_config.at("data").is_object() ||
      !run_config.at("data").contains("train")) {
    throw ConfigError(where + ": no data.train section (expected the config.json of a `facegan train` run)");
  }
  const FaceTemplate t = template_of_spec(run_config.at("data").at("train"), where + ".data.train", size);
  return size > 0 && t.size != size ? t.resized(size) : t;
}

// --------------------------------------------------------------------------------------------
namespace {

/// Whether a JPEG file ends its first scan's data with an EOI marker. libjpeg decodes a truncated
/// file with a warning and grey rows, and OpenCV returns that image; this catches it. The segments
/// before the first SOS are skipped by their lengths (an EXIF thumbnail's EOI inside APP1 does not
/// count); in entropy-coded data 0xFF is always followed by 0x00 or a marker, so the first FFD9
/// after SOS is the image's EOI (data after it, e.g. a phone's trailer, is allowed).
bool jpeg_is_complete(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto at = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (bytes.size() < 4 || at(0) != 0xFF || at(1) != 0xD8) return true;  // not a JPEG: OpenCV decides
  size_t i = 2;
  while (i + 4 <= bytes.size()) {
    if (at(i) != 0xFF) return false;
    const unsigned char marker = at(i + 1);
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    const size_t length = (static_cast<size_t>(at(i + 2)) << 8) | at(i + 3);
    if (marker == 0xDA) {
      for (size_t j = i + 2 + length; j + 1 < bytes.size(); ++j) {
        if (at(j) == 0xFF && at(j + 1) == 0xD9) return true;
      }
      return false;
    }
    i += 2 + length;
  }
  return false;
}

}  // namespace

cv::Mat read_photo(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw DataError("photo " + path + " does not exist");
  if (!fs::is_regular_file(path, ec)) throw DataError("photo " + path + " is not a file");
  cv::Mat image;
  try {
    image = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    throw DataError("photo " + path + " cannot be decoded (" + e.what() + ")");
  }
  if (!image.empty() && !jpeg_is_complete(path)) {
    throw DataError("photo " + path + " is a truncated or corrupt JPEG (its image data has no end marker)");
  }
  if (image.empty()) {
    throw DataError("photo " + path + " is not an image OpenCV can decode (corrupt, truncated, or not a picture)");
  }
  return image;
}

FaceChoice FaceChoice::parse(const std::string& text, const std::string& where) {
  FaceChoice c;
  if (text == "all") return c;
  if (text == "largest") {
    c.kind = Kind::kLargest;
    return c;
  }
  if (!text.empty() && text.size() < 10 && std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    c.kind = Kind::kIndex;
    c.index = std::stoll(text);
    return c;
  }
  throw ConfigError(where + ": '" + text + "' is not a face choice; expected all, largest or a face number (0, 1, ...)");
}

std::string FaceChoice::to_string() const {
  switch (kind) {
    case Kind::kAll: return "all";
    case Kind::kLargest: return "largest";
    case Kind::kIndex: return std::to_string(index);
  }
  return "all";
}

// --------------------------------------------------------------------------------------------
AlignedPhotoFace align_photo_face(const cv::Mat& photo, const DetectedFace& face, const FaceTemplate& tmpl,
                                  int64_t index) {
  check_bgr(photo, "align_photo_face");
  if (tmpl.size <= 0 || tmpl.points.size() != 5) {
    throw ConfigError("align_photo_face: the template needs a positive size and 5 points");
  }
  AlignedPhotoFace out;
  out.index = index;
  out.face = face;
  out.transform = similarity_transform(five_points_from_68(face.landmarks), tmpl.points);
  const int s = static_cast<int>(tmpl.size);
  cv::warpAffine(photo, out.crop, out.transform, cv::Size(s, s), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  out.crop_landmarks = transform_points(out.transform, face.landmarks);
  return out;
}

namespace {

/// The blend mask drawn at n x n for a crop of side s (landmarks in crop pixels).
cv::Mat blend_mask_at(const std::vector<cv::Point2f>& crop_landmarks, int s, int n, const FacePipelineOptions& options) {
  const float k = static_cast<float>(n) / static_cast<float>(s);
  std::vector<cv::Point2f> pts;
  pts.reserve(crop_landmarks.size());
  for (const auto& p : crop_landmarks) pts.emplace_back((p.x + 0.5f) * k - 0.5f, (p.y + 0.5f) * k - 0.5f);
  // Brows up by `forehead` of the eyes-to-chin distance, then the hull grown about its centre.
  cv::Point2f eyes(0.f, 0.f);
  for (int i = 36; i < 48; ++i) eyes += pts[i] * (1.0f / 12.0f);
  const cv::Point2f up = (eyes - pts[8]) * static_cast<float>(options.forehead());
  for (int i = 17; i <= 26; ++i) pts[i] += up;
  std::vector<cv::Point2f> hull;
  cv::convexHull(pts, hull);
  cv::Point2f centre(0.f, 0.f);
  for (const auto& p : hull) centre += p * (1.0f / static_cast<float>(hull.size()));
  std::vector<cv::Point> poly;
  for (const auto& p : hull) {
    const cv::Point2f q = centre + (p - centre) * static_cast<float>(1.0 + options.mask_grow());
    poly.emplace_back(static_cast<int>(std::lround(q.x)), static_cast<int>(std::lround(q.y)));
  }
  cv::Mat mask = cv::Mat::zeros(n, n, CV_8U);
  cv::fillConvexPoly(mask, poly, cv::Scalar(255), cv::LINE_8);
  // Feather: erode by the blur's radius, then blur with a Gaussian of that support, so alpha is
  // exactly 0 on and outside the hull and on the crop's border (cleared first).
  const double face = std::sqrt(std::max(1.0, cv::contourArea(poly)));
  const int radius = std::max(1, static_cast<int>(std::lround(0.5 * options.feather() * face)));
  cv::rectangle(mask, cv::Rect(0, 0, n, n), cv::Scalar(0), 1);
  cv::erode(mask, mask, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * radius + 1, 2 * radius + 1)));
  cv::Mat alpha;
  mask.convertTo(alpha, CV_32F, 1.0 / 255.0);
  cv::GaussianBlur(alpha, alpha, cv::Size(2 * radius + 1, 2 * radius + 1), radius / 2.5, radius / 2.5,
                   cv::BORDER_CONSTANT);
  return alpha;
}

/// Masks are drawn at >= 256 px so that the feather of a small crop is still smooth.
int mask_side(int s) { return std::max(s, 256); }

}  // namespace

cv::Mat face_blend_mask(const std::vector<cv::Point2f>& crop_landmarks, int64_t size, const FacePipelineOptions& options) {
  if (crop_landmarks.size() != 68) {
    throw DataError("face_blend_mask: expected 68 landmarks, got " + std::to_string(crop_landmarks.size()));
  }
  if (size <= 0) throw ConfigError("face_blend_mask: size must be positive, got " + std::to_string(size));
  const int s = static_cast<int>(size), n = mask_side(s);
  cv::Mat alpha = blend_mask_at(crop_landmarks, s, n, options);
  if (n != s) cv::resize(alpha, alpha, cv::Size(s, s), 0, 0, cv::INTER_AREA);
  return alpha;
}

PastedFace paste_face(cv::Mat& photo, const AlignedPhotoFace& face, const cv::Mat& edited,
                      const FacePipelineOptions& options) {
  check_bgr(photo, "paste_face");
  check_bgr(edited, "paste_face (edited crop)");
  if (edited.size() != face.crop.size()) {
    throw DataError("paste_face: the edited crop is " + std::to_string(edited.cols) + "x" + std::to_string(edited.rows) +
                    ", the aligned crop " + std::to_string(face.crop.cols) + "x" + std::to_string(face.crop.rows));
  }
  if (face.crop_landmarks.size() != 68) {
    throw DataError("paste_face: expected 68 crop landmarks, got " + std::to_string(face.crop_landmarks.size()));
  }
  const int s = face.crop.cols;
  // The crop square's footprint in the photo: its corners through the inverse transform.
  cv::Mat inverse;
  cv::invertAffineTransform(face.transform, inverse);
  const std::vector<cv::Point2f> corners =
      transform_points(inverse, {{-0.5f, -0.5f}, {s - 0.5f, -0.5f}, {-0.5f, s - 0.5f}, {s - 0.5f, s - 0.5f}});
  const cv::Rect2f b = bounds(corners);
  const int x0 = std::max(0, static_cast<int>(std::floor(b.x)) - 1), y0 = std::max(0, static_cast<int>(std::floor(b.y)) - 1);
  const int x1 = std::min(photo.cols, static_cast<int>(std::ceil(b.x + b.width)) + 2);
  const int y1 = std::min(photo.rows, static_cast<int>(std::ceil(b.y + b.height)) + 2);
  PastedFace out;
  if (x1 <= x0 || y1 <= y0) return out;
  out.roi = cv::Rect(x0, y0, x1 - x0, y1 - y0);

  // Alpha: the mask, drawn at >= 256 px, sampled at every ROI pixel.
  const int n = mask_side(s);
  const cv::Mat mask = blend_mask_at(face.crop_landmarks, s, n, options);
  const int flags = cv::INTER_LINEAR | cv::WARP_INVERSE_MAP;
  cv::warpAffine(mask, out.alpha, roi_to_crop(face.transform, out.roi, static_cast<double>(n) / s), out.roi.size(),
                 flags, cv::BORDER_CONSTANT, cv::Scalar(0));

  // The colour to blend in, per ROI pixel.
  const cv::Mat to_roi = roi_to_crop(face.transform, out.roi, 1.0);
  cv::Mat change;  // CV_32FC3
  if (options.keep_detail()) {
    cv::Mat e, c, delta;
    edited.convertTo(e, CV_32FC3);
    face.crop.convertTo(c, CV_32FC3);
    cv::subtract(e, c, delta);
    cv::warpAffine(delta, change, to_roi, out.roi.size(), flags, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  } else {
    cv::Mat e;
    edited.convertTo(e, CV_32FC3);
    cv::warpAffine(e, change, to_roi, out.roi.size(), flags, cv::BORDER_REPLICATE);
  }
  cv::Mat view = photo(out.roi);
  for (int y = 0; y < out.roi.height; ++y) {
    const float* a = out.alpha.ptr<float>(y);
    const cv::Vec3f* d = change.ptr<cv::Vec3f>(y);
    cv::Vec3b* p = view.ptr<cv::Vec3b>(y);
    for (int x = 0; x < out.roi.width; ++x) {
      if (a[x] <= 0.f) continue;
      for (int ch = 0; ch < 3; ++ch) {
        const float v = p[x][ch];
        const float target = options.keep_detail() ? v + d[x][ch] : d[x][ch];
        p[x][ch] = cv::saturate_cast<uint8_t>(v + a[x] * (target - v));
      }
    }
  }
  return out;
}

// --------------------------------------------------------------------------------------------
json face_to_json(const DetectedFace& face, int64_t index) {
  json landmarks = json::array();
  for (const auto& p : face.landmarks) landmarks.push_back({round2(p.x), round2(p.y)});
  return json{{"index", index},
              {"box", {round2(face.box.x), round2(face.box.y), round2(face.box.width), round2(face.box.height)}},
              {"score", std::isnan(face.score) ? json(nullptr) : json(round2(face.score))},
              {"landmarks", landmarks}};
}

cv::Mat draw_faces(const cv::Mat& photo, const std::vector<DetectedFace>& faces, const std::vector<int64_t>& indices,
                   const std::vector<std::string>& labels) {
  check_bgr(photo, "draw_faces");
  cv::Mat out = photo.clone();
  const int side = std::min(photo.cols, photo.rows);
  const int thick = std::max(1, side / 400);
  const double font = std::max(0.4, side / 800.0);
  for (size_t i = 0; i < faces.size(); ++i) {
    const auto& f = faces[i];
    cv::rectangle(out, cv::Rect(cv::Point(static_cast<int>(std::lround(f.box.x)), static_cast<int>(std::lround(f.box.y))),
                                cv::Size(static_cast<int>(std::lround(f.box.width)), static_cast<int>(std::lround(f.box.height)))),
                  cv::Scalar(0, 220, 0), thick, cv::LINE_AA);
    for (size_t k = 0; k < f.landmarks.size(); ++k) {
      // Brows, eyes and mouth on the image's left half in one colour, the rest in another: a
      // swapped left/right shows at a glance.
      const cv::Scalar colour = k < 36 ? cv::Scalar(0, 200, 255) : cv::Scalar(0, 0, 255);
      cv::circle(out, cv::Point(static_cast<int>(std::lround(f.landmarks[k].x)), static_cast<int>(std::lround(f.landmarks[k].y))),
                 thick + 1, colour, cv::FILLED, cv::LINE_AA);
    }
    std::string text = std::to_string(i < indices.size() ? indices[i] : static_cast<int64_t>(i));
    if (i < labels.size() && !labels[i].empty()) text += " " + labels[i];
    int base = 0;
    const cv::Size ts = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font, thick, &base);
    const cv::Point org(static_cast<int>(std::lround(f.box.x)),
                        std::max(ts.height + 2, static_cast<int>(std::lround(f.box.y)) - 4));
    cv::rectangle(out, cv::Rect(org.x, org.y - ts.height - 2, ts.width + 4, ts.height + base + 4), cv::Scalar(0, 220, 0),
                  cv::FILLED);
    cv::putText(out, text, {org.x + 2, org.y}, cv::FONT_HERSHEY_SIMPLEX, font, cv::Scalar(0, 0, 0), thick, cv::LINE_AA);
  }
  return out;
}

// --------------------------------------------------------------------------------------------
FacePipeline::FacePipeline(FacePipelineOptions options, std::shared_ptr<const FaceDetector> detector)
    : options_(std::move(options)), detector_(std::move(detector)) {
  if (options_.min_face_size() < 1) {
    throw ConfigError("face pipeline: min_face_size must be >= 1, got " + std::to_string(options_.min_face_size()));
  }
  if (options_.feather() <= 0.0 || options_.feather() > 1.0) {
    throw ConfigError("face pipeline: feather must be in (0, 1], got " + std::to_string(options_.feather()));
  }
  if (options_.mask_grow() < 0.0 || options_.forehead() < 0.0) {
    throw ConfigError("face pipeline: mask_grow and forehead must be >= 0");
  }
}

const FaceDetector& FacePipeline::detector() const {
  if (!detector_) throw Error("face pipeline: no face detector (faces can only be given by their landmarks)");
  return *detector_;
}

std::vector<DetectedFace> FacePipeline::find_faces(const cv::Mat& photo, const std::string& name,
                                                   const std::vector<cv::Point2f>& landmarks) const {
  check_bgr(photo, name.c_str());
  if (!landmarks.empty()) {
    if (landmarks.size() != 68) {
      throw DataError(name + ": expected 68 landmarks (iBUG order), got " + std::to_string(landmarks.size()));
    }
    return {DetectedFace{bounds(landmarks), std::numeric_limits<double>::quiet_NaN(), landmarks}};
  }
  const FaceDetector& d = detector();
  std::vector<DetectedFace> faces = d.detect(photo);
  if (faces.empty()) {
    const int longer = std::max(photo.cols, photo.rows);
    const int64_t max_side = d.options().detect_max_side();
    const double scale = max_side > 0 && longer > max_side ? static_cast<double>(longer) / max_side : 1.0;
    const int smallest = static_cast<int>(std::lround(80.0 * scale / std::pow(2.0, static_cast<double>(d.options().upsample()))));
    throw DataError("no face found in " + name + " (" + std::to_string(photo.cols) + "x" + std::to_string(photo.rows) +
                    "; dlib's HOG detector finds roughly frontal faces of at least about " + std::to_string(smallest) +
                    " px here). Give the 68 landmarks with --landmarks FILE, or --no-detect for a face already "
                    "aligned like the training data");
  }
  return faces;
}

std::vector<AlignedPhotoFace> FacePipeline::select(const cv::Mat& photo, const std::vector<DetectedFace>& faces,
                                                   const FaceChoice& choice, const FaceTemplate& tmpl,
                                                   const std::string& name, std::vector<int64_t>* skipped) const {
  if (faces.empty()) throw DataError("no face found in " + name);
  const float min_side = static_cast<float>(options_.min_face_size());
  auto too_small = [&](int64_t i) {
    return DataError("the face " + std::to_string(i) + " of " + name + " is too small: " +
                     std::to_string(static_cast<int>(std::lround(face_side(faces[static_cast<size_t>(i)])))) +
                     " px, below the minimum of " + std::to_string(options_.min_face_size()) +
                     " px (--min-face); use a larger photo of the face");
  };
  std::vector<int64_t> chosen;
  switch (choice.kind) {
    case FaceChoice::Kind::kIndex:
      if (choice.index >= static_cast<int64_t>(faces.size())) {
        throw DataError(name + " has " + std::to_string(faces.size()) + " face" + (faces.size() == 1 ? "" : "s") +
                        " (numbers 0 to " + std::to_string(faces.size() - 1) + "); there is no face " +
                        std::to_string(choice.index) + " (`facegan detect` shows the numbers)");
      }
      if (face_side(faces[static_cast<size_t>(choice.index)]) < min_side) throw too_small(choice.index);
      chosen.push_back(choice.index);
      break;
    case FaceChoice::Kind::kLargest: {
      size_t best = 0;
      for (size_t i = 1; i < faces.size(); ++i) {
        if (faces[i].box.area() > faces[best].box.area()) best = i;
      }
      if (face_side(faces[best]) < min_side) throw too_small(static_cast<int64_t>(best));
      chosen.push_back(static_cast<int64_t>(best));
      break;
    }
    case FaceChoice::Kind::kAll: {
      size_t best = 0;
      for (size_t i = 0; i < faces.size(); ++i) {
        if (face_side(faces[i]) >= min_side) {
          chosen.push_back(static_cast<int64_t>(i));
        } else if (skipped != nullptr) {
          skipped->push_back(static_cast<int64_t>(i));
        }
        if (faces[i].box.area() > faces[best].box.area()) best = i;
      }
      if (chosen.empty()) throw too_small(static_cast<int64_t>(best));
      break;
    }
  }
  std::vector<AlignedPhotoFace> out;
  for (int64_t i : chosen) out.push_back(align_photo_face(photo, faces[static_cast<size_t>(i)], tmpl, i));
  return out;
}

cv::Mat FacePipeline::apply(const cv::Mat& photo, const std::vector<AlignedPhotoFace>& faces, const Edit& edit,
                            std::vector<PastedFace>* pasted) const {
  check_bgr(photo, "face pipeline");
  cv::Mat out = photo.clone();
  for (const auto& face : faces) {
    const cv::Mat edited = edit(face);
    PastedFace p = paste_face(out, face, edited, options_);
    if (pasted != nullptr) pasted->push_back(std::move(p));
  }
  return out;
}

}  // namespace facegan::data
