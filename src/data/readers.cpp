#include <facegan/core/config.hpp>
#include <facegan/core/error.hpp>
#include <facegan/data/align.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/readers.hpp>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "builtin_datasets.hpp"

namespace facegan::data {
namespace {

namespace fs = std::filesystem;

// ---- listing ---------------------------------------------------------------------------------

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Endings lower-cased, each with its leading dot.
std::vector<std::string> normalise_extensions(const std::vector<std::string>& extensions) {
  std::vector<std::string> out;
  for (const auto& e : extensions) {
    if (e.empty()) continue;
    out.push_back(lower(e.front() == '.' ? e : "." + e));
  }
  return out;
}

bool has_extension(const fs::path& path, const std::vector<std::string>& extensions) {
  const std::string ext = lower(path.extension().string());
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

/// Hidden entries (".DS_Store", macOS "._x.png" forks) are never data.
bool hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name.front() == '.';
}

/// Names of the sub-folders of `dir`, sorted.
std::vector<std::string> sorted_dirs(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && !hidden(entry.path())) out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Names of the regular files of `dir` whose ending is one of `extensions`, sorted.
std::vector<std::string> sorted_files(const fs::path& dir, const std::vector<std::string>& extensions) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && !hidden(entry.path()) && has_extension(entry.path(), extensions)) {
      out.push_back(entry.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void require_folder(const fs::path& dir, const std::string& what) {
  if (!fs::is_directory(dir)) throw DataError(what + " not found: " + dir.string());
}

/// The root option: ConfigError when unset, DataError when the folder is missing.
fs::path require_root(const std::string& root, const char* type, const std::string& expected) {
  if (root.empty()) {
    throw ConfigError(std::string(type) + ": option 'root' is required (the folder holding " + expected + ")");
  }
  require_folder(root, std::string(type) + " root folder (holding " + expected + ")");
  return fs::path(root);
}

void check_geometry(const char* type, int64_t image_size, double align_padding) {
  if (image_size < 0) {
    throw ConfigError(std::string(type) + ": image_size must be >= 0 (0 keeps the size), got " +
                      std::to_string(image_size));
  }
  if (!(align_padding > -0.5 && align_padding < 10.0)) {
    throw ConfigError(std::string(type) + ": align_padding must be in (-0.5, 10), got " +
                      std::to_string(align_padding));
  }
}

void check_peak_frames(const char* type, int64_t peak_frames) {
  if (peak_frames < 1) {
    throw ConfigError(std::string(type) + ": peak_frames must be >= 1, got " + std::to_string(peak_frames));
  }
}

// ---- label files -----------------------------------------------------------------------------

struct Line {
  int number;  // 1-based line number in the file
  std::string text;
  std::vector<std::string> tokens;
};

std::vector<std::string> tokens_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string t; in >> t;) out.push_back(t);
  return out;
}

/// The non-blank lines of a label file; DataError naming the file and what it should hold when
/// it is missing.
std::vector<Line> read_label_file(const fs::path& path, const std::string& expected) {
  if (!fs::is_regular_file(path))
    throw DataError("label file not found: " + path.string() + " (expected " + expected + ")");
  std::ifstream in(path);
  if (!in) throw DataError("cannot open label file " + path.string());
  std::vector<Line> lines;
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    auto tokens = tokens_of(text);
    if (!tokens.empty()) lines.push_back(Line{number, text, std::move(tokens)});
  }
  return lines;
}

[[noreturn]] void bad_line(const fs::path& file, const Line& line, const std::string& expected) {
  throw DataError("malformed line " + std::to_string(line.number) + " of " + file.string() + ": '" + line.text +
                  "'; expected " + expected);
}

bool parse_int(const std::string& s, int64_t& out) {
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool parse_double(const std::string& s, double& out) {
  const char* begin = s.data() + (!s.empty() && s.front() == '+' ? 1 : 0);
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && ptr == end && std::isfinite(out);
}

/// "name value" lines (CelebA's identity and partition files) -> name -> value.
std::unordered_map<std::string, int64_t> read_name_values(const fs::path& path, const std::string& expected,
                                                          int64_t min_value, int64_t max_value) {
  std::unordered_map<std::string, int64_t> out;
  for (const auto& line : read_label_file(path, "lines '" + expected + "'")) {
    int64_t value = 0;
    if (line.tokens.size() != 2 || !parse_int(line.tokens[1], value) || value < min_value || value > max_value) {
      bad_line(path, line,
               "'" + expected + "' with a value in " + std::to_string(min_value) + ".." + std::to_string(max_value));
    }
    if (!out.emplace(line.tokens[0], value).second) bad_line(path, line, "each image listed once");
  }
  return out;
}

/// CelebA's table files: a count line, a header line of column names, then "name v1 ... vN".
/// Returns name -> values; checks the count and the number of columns.
std::unordered_map<std::string, std::vector<double>> read_celeba_table(const fs::path& path, size_t columns,
                                                                       std::vector<std::string>* header,
                                                                       const std::string& expected) {
  const auto lines = read_label_file(path, expected);
  if (lines.size() < 2) {
    throw DataError("label file " + path.string() + " is too short: expected a count line, a header line and " +
                    "one line per image");
  }
  int64_t count = 0;
  if (lines[0].tokens.size() != 1 || !parse_int(lines[0].tokens[0], count) || count < 0) {
    bad_line(path, lines[0], "the number of images");
  }
  if (lines[1].tokens.size() != columns) {
    bad_line(path, lines[1], "a header of " + std::to_string(columns) + " column names");
  }
  if (header != nullptr) *header = lines[1].tokens;
  std::unordered_map<std::string, std::vector<double>> out;
  for (size_t i = 2; i < lines.size(); ++i) {
    const auto& line = lines[i];
    if (line.tokens.size() != columns + 1) {
      bad_line(path, line, "an image name and " + std::to_string(columns) + " numbers");
    }
    std::vector<double> values(columns);
    for (size_t c = 0; c < columns; ++c) {
      if (!parse_double(line.tokens[c + 1], values[c])) {
        bad_line(path, line, "an image name and " + std::to_string(columns) + " numbers");
      }
    }
    if (!out.emplace(line.tokens[0], std::move(values)).second) bad_line(path, line, "each image listed once");
  }
  if (static_cast<int64_t>(out.size()) != count) {
    throw DataError("label file " + path.string() + " declares " + std::to_string(count) + " images on line " +
                    std::to_string(lines[0].number) + " but lists " + std::to_string(out.size()));
  }
  return out;
}

/// iBUG 68-point files of CK+ (68 lines "x y"), as 136 floats.
std::vector<float> read_landmarks_68(const fs::path& path) {
  const auto lines = read_label_file(path, "68 lines 'x y' (CK+ Landmarks)");
  std::vector<float> out;
  out.reserve(136);
  for (const auto& line : lines) {
    double x = 0, y = 0;
    if (line.tokens.size() != 2 || !parse_double(line.tokens[0], x) || !parse_double(line.tokens[1], y)) {
      bad_line(path, line, "two numbers 'x y'");
    }
    out.push_back(static_cast<float>(x));
    out.push_back(static_cast<float>(y));
  }
  if (out.size() != 136) {
    throw DataError("landmark file " + path.string() + " has " + std::to_string(out.size() / 2) +
                    " points; expected 68");
  }
  return out;
}

// ---- sample geometry -------------------------------------------------------------------------

torch::Tensor scalar(int64_t value) { return torch::scalar_tensor(value, torch::kInt64); }

struct Geometry {
  int64_t image_size = 0;
  bool align = false;
  double padding = 0.0;
};

/// Resizes keys.image to size x size (bilinear, antialiased), scales keys.landmarks about pixel
/// edges (x' = (x + 0.5) * W' / W - 0.5) and resizes keys.mask with exact nearest neighbour.
void resize_sample(Sample& sample, int64_t size, const AlignKeys& keys) {
  namespace F = torch::nn::functional;
  const torch::Tensor image = sample.at(keys.image);
  const int64_t h = image.size(1), w = image.size(2);
  if (h == size && w == size) return;
  const std::vector<int64_t> out_size{size, size};
  sample.tensors[keys.image] =
      F::interpolate(
          image.unsqueeze(0),
          F::InterpolateFuncOptions().size(out_size).mode(torch::kBilinear).align_corners(false).antialias(true))
          .squeeze(0);
  auto lm = sample.tensors.find(keys.landmarks);
  if (lm != sample.tensors.end()) {
    const torch::Tensor scale = torch::tensor(
        {static_cast<float>(size) / static_cast<float>(w), static_cast<float>(size) / static_cast<float>(h)});
    lm->second = (lm->second + 0.5f) * scale - 0.5f;
  }
  auto mask = sample.tensors.find(keys.mask);
  if (mask != sample.tensors.end()) {
    // nearest-exact ignores align_corners; setting it only silences LibTorch's default-change warning.
    const auto nearest = F::InterpolateFuncOptions().size(out_size).mode(torch::kNearestExact).align_corners(false);
    const torch::Tensor labels = mask->second.to(torch::kFloat32).unsqueeze(0).unsqueeze(0);
    mask->second = F::interpolate(labels, nearest).squeeze(0).squeeze(0).round().to(torch::kUInt8);
  }
}

/// Applies the reader's geometry option to the image under `keys`; returns the alignment
/// transform (empty when not aligned).
cv::Mat apply_geometry(Sample& sample, const Geometry& geometry, const AlignKeys& keys = {}) {
  if (geometry.align) {
    const torch::Tensor& image = sample.at(keys.image);
    const int64_t size = geometry.image_size > 0 ? geometry.image_size : std::min(image.size(1), image.size(2));
    const torch::Tensor& landmarks = sample.at(keys.landmarks);
    const torch::Tensor five = landmarks.size(0) == 68 ? five_points_from_68(landmarks) : landmarks;
    return align_sample(sample, five, size, geometry.padding, keys);
  }
  if (geometry.image_size > 0) resize_sample(sample, geometry.image_size, keys);
  return {};
}

json transform_to_json(const cv::Mat& m) {
  return json::array({json::array({m.at<double>(0, 0), m.at<double>(0, 1), m.at<double>(0, 2)}),
                      json::array({m.at<double>(1, 0), m.at<double>(1, 1), m.at<double>(1, 2)})});
}

void finish_sample(Sample& sample, const Geometry& geometry) {
  const auto& image = sample.at("image");
  sample.meta["source_size"] = json::array({image.size(1), image.size(2)});
  const cv::Mat transform = apply_geometry(sample, geometry);
  if (!transform.empty()) sample.meta["align_transform"] = transform_to_json(transform);
}

void check_index(size_t index, size_t size, const char* type) {
  if (index >= size) {
    throw DataError(std::string(type) + ": sample index " + std::to_string(index) + " is out of range (size " +
                    std::to_string(size) + ")");
  }
}

// ---- expression sequences (ck_plus, oulu_casia) ----------------------------------------------

struct SequenceItem {
  std::string file;
  std::string neutral_file;
  std::vector<float> landmarks;          // 136 floats, or empty
  std::vector<float> neutral_landmarks;  // 136 floats, or empty
  int64_t expression = -1;
  int64_t identity = -1;
  std::string subject, sequence;
  json emotion_code;  // the data set's own label (CK+ code, Oulu folder name) or null
  int64_t frame = 0, num_frames = 0;
  bool peak = false;
};

struct SequenceIndex {
  std::vector<SequenceItem> items;
  std::vector<std::string> subjects;
};

/// Appends the samples of one sequence: its first frame (neutral) and its last `peak_frames`.
void add_sequence(SequenceIndex& index, const fs::path& folder, const std::vector<std::string>& frames,
                  const std::string& subject, const std::string& sequence, int64_t expression, const json& emotion_code,
                  int64_t peak_frames, bool include_neutral,
                  const std::function<std::vector<float>(const std::string& frame)>& landmarks_of) {
  if (frames.size() < 2) {
    throw DataError("sequence folder " + folder.string() + " has " + std::to_string(frames.size()) +
                    " frame(s); expected at least 2 (a neutral first frame and a peak)");
  }
  if (index.subjects.empty() || index.subjects.back() != subject) index.subjects.push_back(subject);
  SequenceItem base;
  base.neutral_file = (folder / frames.front()).string();
  base.neutral_landmarks = landmarks_of ? landmarks_of(frames.front()) : std::vector<float>{};
  base.identity = static_cast<int64_t>(index.subjects.size()) - 1;
  base.subject = subject;
  base.sequence = sequence;
  base.emotion_code = emotion_code;
  base.num_frames = static_cast<int64_t>(frames.size());
  if (include_neutral) {
    SequenceItem item = base;
    item.file = base.neutral_file;
    item.landmarks = base.neutral_landmarks;
    item.expression = 0;  // every CK+ and Oulu-CASIA sequence starts from the neutral face
    item.frame = 0;
    index.items.push_back(std::move(item));
  }
  const int64_t n = static_cast<int64_t>(frames.size());
  for (int64_t f = std::max<int64_t>(1, n - peak_frames); f < n; ++f) {
    SequenceItem item = base;
    item.file = (folder / frames[static_cast<size_t>(f)]).string();
    item.landmarks = landmarks_of ? landmarks_of(frames[static_cast<size_t>(f)]) : std::vector<float>{};
    item.expression = expression;
    item.frame = f;
    item.peak = true;
    index.items.push_back(std::move(item));
  }
}

torch::Tensor landmarks_tensor(const std::vector<float>& values) {
  return torch::tensor(values, torch::kFloat32).reshape({static_cast<int64_t>(values.size() / 2), 2});
}

Sample sequence_sample(const SequenceItem& item, size_t index, const Geometry& geometry) {
  Sample s;
  s.tensors["image"] = read_image(item.file);
  s.tensors["neutral_image"] = item.peak ? read_image(item.neutral_file) : s.tensors["image"].clone();
  s.tensors["expression"] = scalar(item.expression);
  s.tensors["identity"] = scalar(item.identity);
  if (!item.landmarks.empty()) {
    s.tensors["landmarks"] = landmarks_tensor(item.landmarks);
    s.tensors["neutral_landmarks"] = landmarks_tensor(item.neutral_landmarks);
  }
  s.meta = {{"file", item.file},
            {"index", index},
            {"neutral_file", item.neutral_file},
            {"subject", item.subject},
            {"sequence", item.sequence},
            {"frame", item.frame},
            {"num_frames", item.num_frames},
            {"peak", item.peak},
            {"emotion_code", item.emotion_code},
            {"expression", item.expression},
            {"expression_name",
             item.expression >= 0 ? kExpressionClassNames.at(static_cast<size_t>(item.expression)) : "unlabeled"},
            {"identity", item.identity}};
  finish_sample(s, geometry);
  apply_geometry(s, geometry, AlignKeys{"neutral_image", "neutral_landmarks", "neutral_mask"});
  return s;
}

// ---- MT parsing labels -----------------------------------------------------------------------

// BeautyGAN's MT parsing labels, as documented in the comments of the public BeautyGAN re-implementations
// (e.g. wtjiang98/BeautyGAN_pytorch, solver_makeup.py): 0 background, 1 face, 2 left eyebrow,
// 3 right eyebrow, 4 left eye, 5 right eye, 6 nose, 7 upper lip, 8 teeth, 9 under (lower) lip,
// 10 hair, 11 left ear, 12 right ear, 13 neck. BeautyGAN's lip loss uses {7, 9}, its eye-shadow
// loss the regions around {4, 5}, its face loss {1, 6}. Teeth -> kMouth (the mouth opening).
constexpr std::array<Region, 14> kMtRegions{
    Region::kBackground, Region::kSkin,  Region::kBrows, Region::kBrows, Region::kEyes, Region::kEyes, Region::kNose,
    Region::kLips,       Region::kMouth, Region::kLips,  Region::kHair,  Region::kEars, Region::kEars, Region::kNeck};

torch::Tensor read_mt_mask(const std::string& path, int64_t height, int64_t width) {
  if (!fs::exists(path)) throw DataError("parsing map not found: " + path);
  cv::Mat raw = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (raw.empty()) throw DataError("cannot decode parsing map: " + path);
  if (raw.depth() != CV_8U) {
    throw DataError("parsing map " + path + " is not 8-bit (OpenCV depth " + std::to_string(raw.depth()) +
                    "); expected single-channel labels 0..13");
  }
  cv::Mat labels;
  if (raw.channels() == 1) {
    labels = raw;
  } else {
    // Some copies store the labels replicated in an RGB(A) PNG; a colour-coded map would be misread.
    std::vector<cv::Mat> planes;
    cv::split(raw, planes);
    for (size_t c = 1; c < std::min<size_t>(planes.size(), 3); ++c) {
      if (cv::countNonZero(planes[c] != planes[0]) != 0) {
        throw DataError("parsing map " + path + " has " + std::to_string(raw.channels()) +
                        " channels that differ; expected single-channel labels 0..13");
      }
    }
    labels = planes[0];
  }
  if (labels.rows != height || labels.cols != width) {
    throw DataError("parsing map " + path + " is " + std::to_string(labels.cols) + "x" + std::to_string(labels.rows) +
                    " but its image is " + std::to_string(width) + "x" + std::to_string(height));
  }
  torch::Tensor out = torch::empty({height, width}, torch::kUInt8);
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int y = 0; y < labels.rows; ++y) {
    const uint8_t* row = labels.ptr<uint8_t>(y);
    for (int x = 0; x < labels.cols; ++x) {
      if (row[x] >= kMtRegions.size()) {
        throw DataError("parsing map " + path + " has label " + std::to_string(row[x]) + " at (x " + std::to_string(x) +
                        ", y " + std::to_string(y) + "); expected BeautyGAN labels 0..13");
      }
      dst[y * width + x] = static_cast<uint8_t>(kMtRegions[row[x]]);
    }
  }
  return out;
}

}  // namespace

// =============================================================================================
// image_folder

struct ImageFolderDataset::Index {
  struct Item {
    std::string file;
    int64_t identity;
  };
  std::vector<std::string> names;
  std::vector<Item> items;
};

ImageFolderDataset::ImageFolderDataset(ImageFolderOptions options) : options_(std::move(options)) {
  const fs::path root = require_root(options_.root(), kType, "one folder of images per identity");
  check_geometry(kType, options_.image_size(), 0.0);
  if (options_.min_images_per_identity() < 0) {
    throw ConfigError(std::string(kType) + ": min_images_per_identity must be >= 0, got " +
                      std::to_string(options_.min_images_per_identity()));
  }
  const auto extensions = normalise_extensions(options_.extensions());
  if (extensions.empty()) throw ConfigError(std::string(kType) + ": extensions must name at least one ending");
  auto index = std::make_shared<Index>();
  for (const auto& name : sorted_dirs(root)) {
    const auto files = sorted_files(root / name, extensions);
    if (files.empty() || static_cast<int64_t>(files.size()) < options_.min_images_per_identity()) continue;
    const auto identity = static_cast<int64_t>(index->names.size());
    index->names.push_back(name);
    for (const auto& f : files) index->items.push_back({(root / name / f).string(), identity});
  }
  if (index->items.empty()) {
    throw DataError(std::string(kType) + ": no images (" + join_names(extensions) + ") in identity folders under " +
                    root.string() + " (expected root/<identity>/<image>" +
                    (options_.min_images_per_identity() > 0
                         ? ", at least " + std::to_string(options_.min_images_per_identity()) + " per identity"
                         : std::string()) +
                    ")");
  }
  index_ = std::move(index);
}

size_t ImageFolderDataset::size() const { return index_->items.size(); }

const std::vector<std::string>& ImageFolderDataset::identity_names() const { return index_->names; }

Sample ImageFolderDataset::get(size_t index) const {
  check_index(index, size(), kType);
  const auto& item = index_->items[index];
  Sample s;
  s.tensors["image"] = read_image(item.file);
  s.tensors["identity"] = scalar(item.identity);
  s.meta = {{"file", item.file},
            {"index", index},
            {"identity", item.identity},
            {"identity_name", index_->names[static_cast<size_t>(item.identity)]}};
  finish_sample(s, Geometry{options_.image_size(), false, 0.0});
  return s;
}

// =============================================================================================
// celeba

namespace {
constexpr const char* kCelebAImages = "img_align_celeba";
constexpr const char* kCelebAIdentity = "identity_CelebA.txt";
constexpr const char* kCelebAPartition = "list_eval_partition.txt";
constexpr const char* kCelebALandmarks = "list_landmarks_align_celeba.txt";
constexpr const char* kCelebAAttributes = "list_attr_celeba.txt";
constexpr std::array<const char*, 3> kSplitNames{"train", "val", "test"};
}  // namespace

struct CelebADataset::Index {
  struct Item {
    std::string name;
    int split = -1;  // -1 when no partition file was read
    int64_t celeba_identity = -1;
    int64_t identity = -1;
    std::vector<float> landmarks;   // 10 values or empty
    std::vector<float> attributes;  // 40 values of 0/1 or empty
  };
  std::vector<Item> items;
  int64_t num_identities = 0;
};

const std::vector<std::string>& CelebADataset::attribute_names() {
  // clang-format off
  static const std::vector<std::string> names{
      "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald",
      "Bangs", "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair",
      "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin",
      "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones",
      "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard",
      "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks",
      "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings",
      "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace", "Wearing_Necktie", "Young"
  };
  // clang-format on
  return names;
}

CelebADataset::CelebADataset(CelebAOptions options) : options_(std::move(options)) {
  const fs::path root = require_root(options_.root(), kType, std::string(kCelebAImages) + "/ and CelebA's label files");
  check_geometry(kType, options_.image_size(), options_.align_padding());
  const fs::path images = root / kCelebAImages;
  require_folder(images, "CelebA image folder (" + std::string(kCelebAImages) + "/*.jpg)");

  // Partition: which names make up the data set.
  const fs::path partition_file = root / kCelebAPartition;
  const bool want_split = options_.split() != CelebASplit::kAll;
  std::unordered_map<std::string, int64_t> partition;
  if (want_split || fs::exists(partition_file)) {
    partition = read_name_values(partition_file, "<image> <0 train | 1 val | 2 test>", 0, 2);
  }
  auto index = std::make_shared<Index>();
  if (!partition.empty()) {
    const int64_t wanted = static_cast<int64_t>(options_.split());
    for (const auto& [name, split] : partition) {
      if (want_split && split != wanted) continue;
      Index::Item item;
      item.name = name;
      item.split = static_cast<int>(split);
      index->items.push_back(std::move(item));
    }
  } else {
    for (const auto& name : sorted_files(images, {".jpg", ".jpeg", ".png"})) {
      Index::Item item;
      item.name = name;
      index->items.push_back(std::move(item));
    }
  }
  std::sort(index->items.begin(), index->items.end(),
            [](const Index::Item& a, const Index::Item& b) { return a.name < b.name; });
  if (index->items.empty()) {
    throw DataError(std::string(kType) + ": no images in split '" + enum_to_string(options_.split()) + "' (" +
                    (partition.empty() ? images.string() : partition_file.string()) + ")");
  }

  // Identities, renumbered over the loaded names.
  const fs::path identity_file = root / kCelebAIdentity;
  if (options_.require_identity() || fs::exists(identity_file)) {
    const auto ids = read_name_values(identity_file, "<image> <identity>", 0, std::numeric_limits<int64_t>::max());
    std::set<int64_t> present;
    for (auto& item : index->items) {
      auto it = ids.find(item.name);
      if (it != ids.end()) {
        item.celeba_identity = it->second;
        present.insert(it->second);
      } else if (options_.require_identity()) {
        throw DataError("identity file " + identity_file.string() + " has no line for " + item.name +
                        " (set require_identity false to load images without identity)");
      }
    }
    std::map<int64_t, int64_t> contiguous;
    for (int64_t id : present) contiguous.emplace(id, static_cast<int64_t>(contiguous.size()));
    for (auto& item : index->items) {
      if (item.celeba_identity >= 0) item.identity = contiguous.at(item.celeba_identity);
    }
    index->num_identities = static_cast<int64_t>(contiguous.size());
  }

  // Landmarks (required to align) and attributes, when present.
  const fs::path landmark_file = root / kCelebALandmarks;
  if (options_.align() || fs::exists(landmark_file)) {
    const auto table = read_celeba_table(landmark_file, 10, nullptr,
                                         "a count line, a header line and '<image> lefteye_x lefteye_y ... "
                                         "rightmouth_y' lines (needed by align)");
    for (auto& item : index->items) {
      auto it = table.find(item.name);
      if (it == table.end())
        throw DataError("landmark file " + landmark_file.string() + " has no line for " + item.name);
      item.landmarks.assign(it->second.begin(), it->second.end());
    }
  }
  const fs::path attribute_file = root / kCelebAAttributes;
  if (fs::exists(attribute_file)) {
    std::vector<std::string> header;
    const auto table = read_celeba_table(attribute_file, 40, &header, "CelebA's 40 attributes");
    if (header != attribute_names()) {
      throw DataError("attribute file " + attribute_file.string() + ": its header names " + join_names(header) +
                      "; expected CelebA's 40 attributes " + join_names(attribute_names()));
    }
    for (auto& item : index->items) {
      auto it = table.find(item.name);
      if (it == table.end()) {
        throw DataError("attribute file " + attribute_file.string() + " has no line for " + item.name);
      }
      item.attributes.resize(40);
      for (size_t a = 0; a < 40; ++a) {
        const double v = it->second[a];
        if (v != 1.0 && v != -1.0) {
          throw DataError("attribute file " + attribute_file.string() + ": " + item.name + " has value " +
                          std::to_string(v) + " for " + attribute_names()[a] + "; expected 1 or -1");
        }
        item.attributes[a] = v > 0 ? 1.0f : 0.0f;
      }
    }
  }
  index_ = std::move(index);
}

size_t CelebADataset::size() const { return index_->items.size(); }

int64_t CelebADataset::num_identities() const { return index_->num_identities; }

Sample CelebADataset::get(size_t index) const {
  check_index(index, size(), kType);
  const auto& item = index_->items[index];
  const std::string file = (fs::path(options_.root()) / kCelebAImages / item.name).string();
  Sample s;
  s.tensors["image"] = read_image(file);
  s.tensors["identity"] = scalar(item.identity);
  if (!item.landmarks.empty()) s.tensors["landmarks"] = landmarks_tensor(item.landmarks);
  if (!item.attributes.empty()) s.tensors["attributes"] = torch::tensor(item.attributes, torch::kFloat32);
  s.meta = {{"file", file},
            {"index", index},
            {"split", item.split >= 0 ? json(kSplitNames.at(static_cast<size_t>(item.split))) : json(nullptr)},
            {"identity", item.identity},
            {"celeba_identity", item.celeba_identity >= 0 ? json(item.celeba_identity) : json(nullptr)}};
  finish_sample(s, Geometry{options_.image_size(), options_.align(), options_.align_padding()});
  return s;
}

// =============================================================================================
// mt_makeup

struct MtMakeupDataset::Index {
  struct Item {
    std::string file, mask_file;
    bool makeup;
  };
  std::vector<Item> items;
};

Region MtMakeupDataset::region_of_label(int label) {
  if (label < 0 || label >= static_cast<int>(kMtRegions.size())) {
    throw DataError("MT parsing label " + std::to_string(label) + " is not a BeautyGAN label (0..13)");
  }
  return kMtRegions[static_cast<size_t>(label)];
}

MtMakeupDataset::MtMakeupDataset(MtMakeupOptions options) : options_(std::move(options)) {
  const fs::path root = require_root(options_.root(), kType, "images/{makeup,non-makeup}/ and segs/");
  check_geometry(kType, options_.image_size(), 0.0);
  auto index = std::make_shared<Index>();
  const std::vector<std::pair<std::string, bool>> halves{{"makeup", true}, {"non-makeup", false}};
  for (const auto& [folder, makeup] : halves) {
    if (options_.subset() == MakeupSubset::kMakeup && !makeup) continue;
    if (options_.subset() == MakeupSubset::kNonMakeup && makeup) continue;
    const fs::path images = root / "images" / folder;
    const fs::path segs = root / "segs" / folder;
    require_folder(images, "MT image folder (images/" + folder + "/*.png)");
    if (options_.with_masks()) require_folder(segs, "MT parsing-map folder (segs/" + folder + "/*.png)");
    for (const auto& name : sorted_files(images, {".png", ".jpg", ".jpeg"})) {
      Index::Item item{(images / name).string(), (segs / name).string(), makeup};
      if (options_.with_masks() && !fs::exists(item.mask_file)) {
        throw DataError("parsing map not found: " + item.mask_file + " (expected one in segs/" + folder +
                        "/ for every image, same file name; or set with_masks false)");
      }
      index->items.push_back(std::move(item));
    }
  }
  if (index->items.empty()) {
    throw DataError(std::string(kType) + ": no images under " + (root / "images").string() + " for subset '" +
                    enum_to_string(options_.subset()) + "'");
  }
  index_ = std::move(index);
}

size_t MtMakeupDataset::size() const { return index_->items.size(); }

Sample MtMakeupDataset::get(size_t index) const {
  check_index(index, size(), kType);
  const auto& item = index_->items[index];
  Sample s;
  s.tensors["image"] = read_image(item.file);
  s.tensors["makeup"] = scalar(item.makeup ? 1 : 0);
  if (options_.with_masks()) {
    s.tensors["mask"] = read_mt_mask(item.mask_file, s.tensors["image"].size(1), s.tensors["image"].size(2));
  }
  s.meta = {{"file", item.file},
            {"index", index},
            {"makeup", item.makeup},
            {"mask_file", options_.with_masks() ? json(item.mask_file) : json(nullptr)}};
  finish_sample(s, Geometry{options_.image_size(), false, 0.0});
  return s;
}

// =============================================================================================
// ck_plus

struct CkPlusDataset::Index : SequenceIndex {};

int64_t CkPlusDataset::expression_of_code(int code) {
  // CK+ 0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise
  // -> facegan 0 neutral, 1 happy, 2 sad, 3 angry, 4 surprised, 5 disgusted, 6 fearful, 7 contempt.
  constexpr std::array<int64_t, 8> kMap{0, 3, 7, 5, 6, 1, 2, 4};
  if (code < 0 || code > 7) throw DataError("CK+ emotion code " + std::to_string(code) + " is not in 0..7");
  return kMap[static_cast<size_t>(code)];
}

namespace {
/// Reads a CK+ emotion file: one number, an integer code 0..7 written as a float ("3.0000000e+00").
int read_ck_emotion(const fs::path& path) {
  const auto lines = read_label_file(path, "one CK+ emotion code 0..7");
  const std::string expected = "one CK+ emotion code 0..7 (e.g. '3.0000000e+00')";
  if (lines.empty()) throw DataError("emotion file " + path.string() + " is empty; expected " + expected);
  if (lines.size() > 1) bad_line(path, lines[1], "nothing after the emotion code; " + expected);
  double value = 0;
  if (lines[0].tokens.size() != 1 || !parse_double(lines[0].tokens[0], value) || value != std::round(value) ||
      value < 0 || value > 7) {
    bad_line(path, lines[0], expected);
  }
  return static_cast<int>(value);
}
}  // namespace

CkPlusDataset::CkPlusDataset(CkPlusOptions options) : options_(std::move(options)) {
  const fs::path root = require_root(options_.root(), kType, "cohn-kanade-images/ and Emotion/");
  check_geometry(kType, options_.image_size(), options_.align_padding());
  check_peak_frames(kType, options_.peak_frames());
  const fs::path images = root / "cohn-kanade-images";
  const fs::path emotions = root / "Emotion";
  const fs::path landmarks = root / "Landmarks";
  require_folder(images, "CK+ image folder (cohn-kanade-images/S###/###/*.png)");
  require_folder(emotions, "CK+ emotion label folder (Emotion/S###/###/*_emotion.txt)");
  const bool with_landmarks = fs::is_directory(landmarks);
  if (options_.align() && !with_landmarks) {
    throw DataError("ck_plus: align needs the CK+ landmark folder, not found: " + landmarks.string() +
                    " (expected Landmarks/S###/###/*_landmarks.txt)");
  }
  auto index = std::make_shared<Index>();
  for (const auto& subject : sorted_dirs(images)) {
    for (const auto& sequence : sorted_dirs(images / subject)) {
      const fs::path folder = images / subject / sequence;
      const fs::path emotion_folder = emotions / subject / sequence;
      std::vector<std::string> emotion_files;
      if (fs::is_directory(emotion_folder)) {
        for (const auto& f : sorted_files(emotion_folder, {".txt"})) {
          if (f.size() > 12 && f.compare(f.size() - 12, 12, "_emotion.txt") == 0) emotion_files.push_back(f);
        }
      }
      if (emotion_files.size() > 1) {
        throw DataError("emotion folder " + emotion_folder.string() + " holds " + std::to_string(emotion_files.size()) +
                        " *_emotion.txt files; expected at most one per sequence");
      }
      int code = -1;
      if (!emotion_files.empty()) code = read_ck_emotion(emotion_folder / emotion_files.front());
      if (code < 0 && !options_.keep_unlabeled()) continue;
      if (code == 2 && !options_.keep_contempt()) continue;
      std::function<std::vector<float>(const std::string&)> landmarks_of;
      if (with_landmarks) {
        const fs::path lm_folder = landmarks / subject / sequence;
        landmarks_of = [lm_folder](const std::string& frame) {
          return read_landmarks_68(lm_folder / (fs::path(frame).stem().string() + "_landmarks.txt"));
        };
      }
      add_sequence(*index, folder, sorted_files(folder, {".png"}), subject, sequence,
                   code >= 0 ? expression_of_code(code) : -1, code >= 0 ? json(code) : json(nullptr),
                   options_.peak_frames(), options_.include_neutral(), landmarks_of);
    }
  }
  if (index->items.empty()) {
    throw DataError("ck_plus: no labelled sequences under " + images.string() +
                    " (expected cohn-kanade-images/S###/###/*.png with Emotion/S###/###/*_emotion.txt)");
  }
  index_ = std::move(index);
}

size_t CkPlusDataset::size() const { return index_->items.size(); }

const std::vector<std::string>& CkPlusDataset::subjects() const { return index_->subjects; }

Sample CkPlusDataset::get(size_t index) const {
  check_index(index, size(), kType);
  return sequence_sample(index_->items[index], index,
                         Geometry{options_.image_size(), options_.align(), options_.align_padding()});
}

// =============================================================================================
// oulu_casia

struct OuluCasiaDataset::Index : SequenceIndex {};

OuluCasiaDataset::OuluCasiaDataset(OuluCasiaOptions options) : options_(std::move(options)) {
  const fs::path root = require_root(options_.root(), kType, "OriginalImg/");
  check_geometry(kType, options_.image_size(), 0.0);
  check_peak_frames(kType, options_.peak_frames());
  const fs::path base =
      root / "OriginalImg" / enum_to_string(options_.spectrum()) / enum_to_string(options_.illumination());
  require_folder(base, "Oulu-CASIA sequence folder (OriginalImg/<VL|NI>/<Strong|Weak|Dark>/P###/<Emotion>/*.jpeg)");
  // Oulu-CASIA's six emotion folders -> facegan expression classes.
  const std::vector<std::pair<std::string, int64_t>> emotions{{"anger", 3},     {"disgust", 5}, {"fear", 6},
                                                              {"happiness", 1}, {"sadness", 2}, {"surprise", 4}};
  auto index = std::make_shared<Index>();
  for (const auto& subject : sorted_dirs(base)) {
    for (const auto& emotion : sorted_dirs(base / subject)) {
      auto it =
          std::find_if(emotions.begin(), emotions.end(), [&](const auto& e) { return e.first == lower(emotion); });
      if (it == emotions.end()) {
        throw DataError("unknown Oulu-CASIA emotion folder " + (base / subject / emotion).string() +
                        "; expected one of Anger, Disgust, Fear, Happiness, Sadness, Surprise");
      }
      const fs::path folder = base / subject / emotion;
      add_sequence(*index, folder, sorted_files(folder, {".jpeg", ".jpg", ".png", ".bmp"}), subject, emotion,
                   it->second, json(emotion), options_.peak_frames(), options_.include_neutral(), nullptr);
    }
  }
  if (index->items.empty()) throw DataError("oulu_casia: no sequences under " + base.string());
  index_ = std::move(index);
}

size_t OuluCasiaDataset::size() const { return index_->items.size(); }

const std::vector<std::string>& OuluCasiaDataset::subjects() const { return index_->subjects; }

Sample OuluCasiaDataset::get(size_t index) const {
  check_index(index, size(), kType);
  return sequence_sample(index_->items[index], index, Geometry{options_.image_size(), false, 0.0});
}

// =============================================================================================

namespace {
template <class D, class O>
void add_reader(Registry<Dataset>& registry, const char* summary) {
  registry.add(
      D::kType, [](const json& j) { return std::make_shared<D>(apply_json(O{}, j)); }, summary, options_to_json(O{}));
}
}  // namespace

void register_file_datasets(Registry<Dataset>& registry) {
  add_reader<ImageFolderDataset, ImageFolderOptions>(
      registry, "root/<identity>/<image> folders (CASIA-WebFace, VGGFace2): image, identity");
  add_reader<CelebADataset, CelebAOptions>(
      registry, "CelebA aligned images: image, identity, 5 landmarks, 40 attributes; official splits");
  add_reader<MtMakeupDataset, MtMakeupOptions>(registry,
                                               "BeautyGAN's MT makeup set: image, makeup flag, region mask from segs/");
  add_reader<CkPlusDataset, CkPlusOptions>(
      registry, "CK+ sequences: neutral and peak frames, expression, identity, optional 68 landmarks");
  add_reader<OuluCasiaDataset, OuluCasiaOptions>(registry,
                                                 "Oulu-CASIA sequences: neutral and peak frames, expression, identity");
}

}  // namespace facegan::data
