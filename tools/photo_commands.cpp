// The photo side of the `facegan` command: `facegan detect`, and `facegan infer <operation>` on
// ordinary photos through data/face_pipeline.hpp (detect, align to the run's template, run the
// model, paste back), with --no-detect keeping the aligned-crop behaviour.
#include "commands.hpp"
#include "options.hpp"

#include <facegan/facegan.hpp>
#include <facegan/data/face_detector.hpp>
#include <facegan/data/face_pipeline.hpp>

#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <utility>

namespace facegan::cli {
namespace {

namespace fs = std::filesystem;

/// Arguments of `facegan infer <operation>`.
struct InferArgs {
  std::string checkpoint;
  std::string image;
  std::string out;
  std::string device = "cpu";
  int64_t size = 0;
};

/// Arguments of `facegan infer transfer/remove` beside InferArgs.
struct MakeupArgs {
  std::string landmarks;
  std::string reference;
  std::string reference_landmarks;
  double intensity = 1.0;
  std::vector<std::string> regions;
};

/// The photo options of every infer operation and of `detect`.
struct PhotoArgs {
  /// Which faces of the (target) photo: all, largest or a number (`facegan detect` numbers them).
  std::string face = "all";
  /// The other photo's face (mix: the identity photo's; transfer: the reference's).
  std::string other_face = "largest";
  /// The inputs are crops aligned like the training data (the behaviour before the pipeline).
  bool no_detect = false;
  /// neutralize, classify, mix: the photo's 68 landmarks, given instead of detected (mix: the
  /// identity photo's). transfer and remove keep theirs in MakeupArgs.
  std::string landmarks;
  /// mix: the attribute photo's landmarks file.
  std::string other_landmarks;
  std::string landmark_model;
  int64_t min_face = 40;
  int64_t upsample = 0;
  int64_t detect_max_side = 1600;
  double detect_threshold = 0.25;
};

/// Which infer operation add_photo_options() equips.
enum class PhotoOperation { kNeutralize, kClassify, kMix, kTransfer, kRemove };

/// Arguments of `facegan detect`.
struct DetectArgs {
  std::string photo;
  std::string out;
  PhotoArgs options;
};

/// An aligned crop given as it is (--no-detect).
cv::Mat read_crop(const std::string& path) {
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  if (image.empty()) throw DataError("cannot read image " + path + " (missing, or not an image OpenCV can decode)");
  return image;
}

/// Files to write, encoded in memory first: nothing is written unless every output could be made,
/// and each file appears whole (written to a temporary name, then renamed).
class Outputs {
 public:
  void image(const std::string& path, const cv::Mat& image) {
    std::vector<uchar> bytes;
    bool ok = false;
    try {
      ok = cv::imencode(fs::path(path).extension().string(), image, bytes);
    } catch (const cv::Exception&) {
      ok = false;
    }
    if (!ok) throw Error("cannot encode an image for " + path + " (use a .png or .jpg name)");
    files_.emplace_back(path, std::string(bytes.begin(), bytes.end()));
  }
  void text(const std::string& path, std::string text) { files_.emplace_back(path, std::move(text)); }
  void write() const {
    for (const auto& [path, bytes] : files_) {
      write_file_atomic(path, bytes);
      std::printf("wrote %s\n", path.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::string>> files_;
};

/// Writes one image whole (Outputs with a single file).
void write_image(const std::string& path, const cv::Mat& image) {
  Outputs out;
  out.image(path, image);
  out.write();
}

/// The run's config.json beside a checkpoint (RUN/checkpoints/ckpt_*.pt -> RUN/config.json), read
/// for the face template and crop size the model was trained with.
data::FaceTemplate template_for(const std::string& checkpoint, int64_t size) {
  const fs::path config = fs::path(checkpoint).parent_path().parent_path() / "config.json";
  if (!fs::exists(config)) {
    throw ConfigError("the face template and crop size come from the run's config.json, expected at " +
                      config.string() + " (the run folder above the checkpoint's checkpoints/ folder); keep the "
                      "checkpoint in its run folder, or use --no-detect with crops aligned like the training data");
  }
  return data::face_template_from_config(load_json_file(config.string()), config.string(), size);
}

data::FacePipeline make_pipeline(const PhotoArgs& p, bool need_detector, bool keep_detail) {
  std::shared_ptr<const data::FaceDetector> detector;
  if (need_detector) {
    detector = std::make_shared<const data::FaceDetector>(data::FaceDetectorOptions()
                                                              .landmark_model(p.landmark_model)
                                                              .upsample(p.upsample)
                                                              .detect_max_side(p.detect_max_side)
                                                              .threshold(p.detect_threshold));
  }
  return data::FacePipeline(data::FacePipelineOptions().min_face_size(p.min_face).keep_detail(keep_detail),
                            std::move(detector));
}

std::vector<cv::Point2f> landmarks_or_none(const std::string& file) {
  return file.empty() ? std::vector<cv::Point2f>() : data::read_landmarks_file(file);
}

/// The chosen faces of one photo, aligned.
struct PhotoFaces {
  std::string path;
  cv::Mat photo;
  std::vector<data::DetectedFace> all;
  std::vector<data::AlignedPhotoFace> chosen;
};

PhotoFaces photo_faces(const data::FacePipeline& pipeline, const std::string& path, const std::string& landmarks,
                       const std::string& choice, const char* option, const data::FaceTemplate& tmpl) {
  PhotoFaces f;
  f.path = path;
  f.photo = data::read_photo(path);
  f.all = pipeline.find_faces(f.photo, path, landmarks_or_none(landmarks));
  std::vector<int64_t> skipped;
  f.chosen = pipeline.select(f.photo, f.all, data::FaceChoice::parse(choice, option), tmpl, path, &skipped);
  std::printf("%s: %zu face%s found, using %zu (%s %s)", path.c_str(), f.all.size(), f.all.size() == 1 ? "" : "s",
              f.chosen.size(), option, choice.c_str());
  if (!skipped.empty()) {
    std::printf("; left out as smaller than %lld px:", static_cast<long long>(pipeline.options().min_face_size()));
    for (int64_t i : skipped) std::printf(" %lld", static_cast<long long>(i));
  }
  std::printf("\n");
  return f;
}

void print_template(const data::FaceTemplate& t) {
  std::printf("face template: %s, crop %lld px\n", t.source.c_str(), static_cast<long long>(t.size));
}

/// Whether any of a command's faces is to be detected (not every photo's landmarks were given).
bool needs_detector(std::initializer_list<const std::string*> landmark_files) {
  for (const std::string* f : landmark_files) {
    if (f->empty()) return true;
  }
  return false;
}

std::string sibling_json(const std::string& image_path) {
  return fs::path(image_path).replace_extension(".json").string();
}

/// Adds --face, --no-detect and the detector options to an infer operation, and the options each
/// operation has of its own: --landmarks (neutralize, classify, mix), --attribute-landmarks and
/// --identity-face (mix), --reference-face (transfer), --out (classify: annotated image + JSON).
/// transfer and remove declare --landmarks themselves (their meaning predates the pipeline).
void add_photo_options(CLI::App* op, PhotoOperation operation, PhotoArgs& photo, InferArgs& infer) {
  const bool mix = operation == PhotoOperation::kMix;
  op->add_option("--face", photo.face,
                 mix ? "Faces of the --attribute photo to replace: all, largest or a number (`facegan detect` "
                       "numbers them left to right)"
                     : "Faces of the photo to use: all, largest or a number (`facegan detect` numbers them left to "
                       "right)");
  op->add_flag("--no-detect", photo.no_detect,
               "The images are face crops aligned like the training data (no detection, no paste-back)");
  switch (operation) {
    case PhotoOperation::kNeutralize:
    case PhotoOperation::kClassify:
      op->add_option("--landmarks", photo.landmarks,
                     "The face's 68 landmarks in the photo (.pts or 'x y' lines), instead of detecting it")
          ->check(CLI::ExistingFile);
      break;
    case PhotoOperation::kMix:
      op->add_option("--landmarks", photo.landmarks, "68 landmarks of the identity photo's face, instead of detecting it")
          ->check(CLI::ExistingFile);
      op->add_option("--attribute-landmarks", photo.other_landmarks,
                     "68 landmarks of the attribute photo's face, instead of detecting it")
          ->check(CLI::ExistingFile);
      op->add_option("--identity-face", photo.other_face, "Which face of --image gives the identity: largest or a number");
      break;
    case PhotoOperation::kTransfer:
      op->add_option("--reference-face", photo.other_face, "Which face of --reference gives the makeup: largest or a number");
      break;
    case PhotoOperation::kRemove:
      break;
  }
  if (operation == PhotoOperation::kClassify) {
    op->add_option("--out", infer.out,
                   "Annotated photo (.png, .jpg) with each face's box and expression; the JSON goes beside it (.json)");
  }
  op->add_option("--landmark-model", photo.landmark_model,
                 "dlib's shape_predictor_68_face_landmarks.dat (default: $FACEGAN_LANDMARK_MODEL, else " +
                     data::default_landmark_model() + ")");
  op->add_option("--min-face", photo.min_face, "Faces smaller than this (box side, pixels) are too small")
      ->check(CLI::PositiveNumber);
  op->add_option("--upsample", photo.upsample, "Double the photo 0-2 times for detection: finds smaller faces, slower")
      ->check(CLI::Range(0, 2));
  op->add_option("--detect-max-side", photo.detect_max_side,
                 "Detection scans a copy of the photo at most this many pixels long (0: full size); landmarks use "
                 "the full photo")
      ->check(CLI::NonNegativeNumber);
  op->add_option("--detect-threshold", photo.detect_threshold,
                 "Added to dlib's HOG threshold (dlib: 0): higher drops weak detections (false faces score near 0), "
                 "lower finds more");
}

/// `facegan detect`: DIR/<stem>.json (boxes, scores, 68 landmarks), DIR/<stem>.png (annotated)
/// and DIR/<stem>_face<N>.pts per face (for --landmarks).
int run_detect(const DetectArgs& args) {
  const data::FacePipeline pipeline = make_pipeline(args.options, true, true);
  const cv::Mat photo = data::read_photo(args.photo);
  const auto faces = pipeline.find_faces(photo, args.photo);
  const std::string stem = fs::path(args.photo).stem().string();
  const fs::path dir(args.out);
  json listing = {{"image", args.photo},
                  {"width", photo.cols},
                  {"height", photo.rows},
                  {"landmark_model", pipeline.detector().landmark_model()},
                  {"faces", json::array()}};
  Outputs out;
  std::vector<int64_t> indices;
  for (size_t i = 0; i < faces.size(); ++i) {
    listing["faces"].push_back(data::face_to_json(faces[i], static_cast<int64_t>(i)));
    indices.push_back(static_cast<int64_t>(i));
    std::string pts = "version: 1\nn_points: 68\n{\n";
    for (const auto& p : faces[i].landmarks) pts += std::to_string(p.x) + " " + std::to_string(p.y) + "\n";
    pts += "}\n";
    out.text((dir / (stem + "_face" + std::to_string(i) + ".pts")).string(), pts);
    std::printf("face %zu: box (%.0f, %.0f) %.0fx%.0f, score %.2f\n", i, faces[i].box.x, faces[i].box.y,
                faces[i].box.width, faces[i].box.height, faces[i].score);
  }
  out.text((dir / (stem + ".json")).string(), listing.dump(2) + "\n");
  out.image((dir / (stem + ".png")).string(), data::draw_faces(photo, faces, indices));
  out.write();
  return 0;
}

int run_neutralize(const InferArgs& a, const PhotoArgs& p) {
  const torch::Device device = parse_device(a.device);
  if (p.no_detect) {
    const auto model = models::DeRL::load(a.checkpoint, device, a.size);
    write_image(a.out, model.neutralize(read_crop(a.image)));
    return 0;
  }
  const data::FaceTemplate tmpl = template_for(a.checkpoint, a.size);
  print_template(tmpl);
  const auto model = models::DeRL::load(a.checkpoint, device);
  const data::FacePipeline pipeline = make_pipeline(p, needs_detector({&p.landmarks}), true);
  const PhotoFaces f = photo_faces(pipeline, a.image, p.landmarks, p.face, "--face", tmpl);
  write_image(a.out, pipeline.apply(f.photo, f.chosen, [&](const data::AlignedPhotoFace& face) {
    return model.neutralize(face.crop);
  }));
  return 0;
}

int run_classify(const InferArgs& a, const PhotoArgs& p) {
  const torch::Device device = parse_device(a.device);
  auto check = [&](const models::DeRL& model) {
    if (!model.can_classify()) {
      throw ConfigError(a.checkpoint + " is a stage-1 (deexpression) DeRL checkpoint: it can neutralize, not "
                        "classify; use the checkpoint of a 'classify' run");
    }
  };
  auto result = [](const models::DeRL& model, const std::vector<double>& prob, std::string& best_name) {
    const auto names = model.class_names();
    json probabilities = json::object();
    size_t best = 0;
    for (size_t i = 0; i < prob.size(); ++i) {
      probabilities[names[i]] = prob[i];
      if (prob[i] > prob[best]) best = i;
    }
    best_name = names[best];
    return json{{"expression", names[best]}, {"probabilities", probabilities}};
  };
  if (p.no_detect) {
    const auto model = models::DeRL::load(a.checkpoint, device, a.size);
    check(model);
    std::string best;
    json j = result(model, model.classify(read_crop(a.image)), best);
    j["image"] = a.image;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  const data::FaceTemplate tmpl = template_for(a.checkpoint, a.size);
  print_template(tmpl);
  const auto model = models::DeRL::load(a.checkpoint, device);
  check(model);
  const data::FacePipeline pipeline = make_pipeline(p, needs_detector({&p.landmarks}), true);
  const PhotoFaces f = photo_faces(pipeline, a.image, p.landmarks, p.face, "--face", tmpl);
  json listing = {{"image", a.image}, {"width", f.photo.cols}, {"height", f.photo.rows}, {"faces", json::array()}};
  std::vector<data::DetectedFace> drawn;
  std::vector<int64_t> indices;
  std::vector<std::string> labels;
  for (const auto& face : f.chosen) {
    std::string best;
    json j = data::face_to_json(face.face, face.index);
    j.update(result(model, model.classify(face.crop), best));
    listing["faces"].push_back(j);
    drawn.push_back(face.face);
    indices.push_back(face.index);
    char label[64];
    std::snprintf(label, sizeof(label), "%s %.2f", best.c_str(), j["probabilities"][best].get<double>());
    labels.emplace_back(label);
  }
  if (!a.out.empty()) {
    Outputs out;
    out.image(a.out, data::draw_faces(f.photo, drawn, indices, labels));
    out.text(sibling_json(a.out), listing.dump(2) + "\n");
    out.write();
  }
  std::printf("%s\n", listing.dump(2).c_str());
  return 0;
}

int run_mix(const InferArgs& a, const std::string& attribute, const PhotoArgs& p) {
  const torch::Device device = parse_device(a.device);
  const auto model = models::OpenSet::load(a.checkpoint, device);
  if (p.no_detect) {
    write_image(a.out, model.mix(read_crop(a.image), read_crop(attribute)));
    return 0;
  }
  const data::FaceTemplate tmpl = template_for(a.checkpoint, 0);
  print_template(tmpl);
  // The generator draws a whole new face: the warped-back output replaces the photo in the mask.
  const data::FacePipeline pipeline = make_pipeline(p, needs_detector({&p.landmarks, &p.other_landmarks}), false);
  const PhotoFaces identity = photo_faces(pipeline, a.image, p.landmarks, p.other_face, "--identity-face", tmpl);
  const PhotoFaces target = photo_faces(pipeline, attribute, p.other_landmarks, p.face, "--face", tmpl);
  const cv::Mat& identity_crop = identity.chosen.at(0).crop;
  write_image(a.out, pipeline.apply(target.photo, target.chosen, [&](const data::AlignedPhotoFace& face) {
    return model.mix(identity_crop, face.crop);
  }));
  return 0;
}

int run_transfer(const InferArgs& a, const MakeupArgs& m, const PhotoArgs& p) {
  const torch::Device device = parse_device(a.device);
  const auto model = models::Makeup::load(a.checkpoint, device);
  if (p.no_detect) {
    if (m.landmarks.empty() || m.reference_landmarks.empty()) {
      throw ConfigError("--no-detect: transfer needs the crops' landmarks, --landmarks and --reference-landmarks");
    }
    write_image(a.out, model.transfer(read_crop(a.image), data::read_landmarks_file(m.landmarks), read_crop(m.reference),
                                    data::read_landmarks_file(m.reference_landmarks), m.intensity, m.regions));
    return 0;
  }
  const data::FaceTemplate tmpl = template_for(a.checkpoint, 0);
  print_template(tmpl);
  const data::FacePipeline pipeline = make_pipeline(p, needs_detector({&m.landmarks, &m.reference_landmarks}), true);
  const PhotoFaces reference = photo_faces(pipeline, m.reference, m.reference_landmarks, p.other_face, "--reference-face", tmpl);
  const PhotoFaces source = photo_faces(pipeline, a.image, m.landmarks, p.face, "--face", tmpl);
  // Both faces on the same template, with their 68 points (the warp W and the makeup areas).
  const data::AlignedPhotoFace& ref = reference.chosen.at(0);
  write_image(a.out, pipeline.apply(source.photo, source.chosen, [&](const data::AlignedPhotoFace& face) {
    return model.transfer(face.crop, face.crop_landmarks, ref.crop, ref.crop_landmarks, m.intensity, m.regions);
  }));
  return 0;
}

int run_remove(const InferArgs& a, const MakeupArgs& m, const PhotoArgs& p) {
  const torch::Device device = parse_device(a.device);
  const auto model = models::Makeup::load(a.checkpoint, device);
  if (p.no_detect) {
    if (m.landmarks.empty()) throw ConfigError("--no-detect: remove needs the crop's landmarks, --landmarks");
    write_image(a.out, model.remove(read_crop(a.image), data::read_landmarks_file(m.landmarks)));
    return 0;
  }
  const data::FaceTemplate tmpl = template_for(a.checkpoint, 0);
  print_template(tmpl);
  const data::FacePipeline pipeline = make_pipeline(p, needs_detector({&m.landmarks}), true);
  const PhotoFaces f = photo_faces(pipeline, a.image, m.landmarks, p.face, "--face", tmpl);
  write_image(a.out, pipeline.apply(f.photo, f.chosen, [&](const data::AlignedPhotoFace& face) {
    return model.remove(face.crop, face.crop_landmarks);
  }));
  return 0;
}

/// The arguments of every infer operation: one object, as only one operation runs.
struct InferOperationArgs {
  InferArgs infer;
  PhotoArgs photo;
  MakeupArgs makeup;
  /// mix: the photo whose faces get the identity.
  std::string attribute;
};

/// The options every infer operation has: --checkpoint, --out (when it writes an image), --device
/// and --size (when it resizes).
void add_common_options(CLI::App* op, InferArgs& args, bool writes_image, bool resizes) {
  op->add_option("--checkpoint", args.checkpoint, "A checkpoint of a run (runs/.../checkpoints/ckpt_*.pt)")
      ->required()
      ->check(CLI::ExistingFile);
  if (writes_image) op->add_option("--out", args.out, "Output image file (.png, .jpg)")->required();
  op->add_option("--device", args.device, "cpu, cuda or cuda:N");
  if (resizes) {
    op->add_option("--size", args.size,
                   "Side of the face crop the network sees (default: the training size from the run's config; "
                   "--no-detect: resize inputs to SIZE x SIZE, 0 = as they are, and outputs back)");
  }
}

}  // namespace

void add_infer_command(CLI::App& app, Invocation& invocation) {
  auto* infer = app.add_subcommand(
      "infer", "Run a trained model on photos: each face is detected, aligned, edited and pasted back "
               "(--no-detect: on face crops aligned like the training data)");
  infer->require_subcommand(1);
  auto shared = std::make_shared<InferOperationArgs>();
  InferArgs& infer_args = shared->infer;
  PhotoArgs& photo_args = shared->photo;
  MakeupArgs& makeup_args = shared->makeup;

  auto* neutralize = infer->add_subcommand("neutralize", "DeRL stage 1: the same face with a neutral expression");
  neutralize->add_option("--image", infer_args.image, "Photo (or aligned crop with --no-detect)")->required()->check(
      CLI::ExistingFile);
  add_common_options(neutralize, infer_args, true, true);
  add_photo_options(neutralize, PhotoOperation::kNeutralize, photo_args, infer_args);
  on_run(neutralize, invocation, shared, [](const InferOperationArgs& a) { return run_neutralize(a.infer, a.photo); });

  auto* classify = infer->add_subcommand("classify", "DeRL stage 2: expression probabilities of a face (JSON)");
  classify->add_option("--image", infer_args.image, "Photo (or aligned crop with --no-detect)")->required()->check(
      CLI::ExistingFile);
  add_common_options(classify, infer_args, false, true);
  add_photo_options(classify, PhotoOperation::kClassify, photo_args, infer_args);
  on_run(classify, invocation, shared, [](const InferOperationArgs& a) { return run_classify(a.infer, a.photo); });

  auto* mix = infer->add_subcommand(
      "mix", "Open-set synthesis (Bao et al.): the identity of one face with the pose, expression, light and "
             "background of another");
  mix->add_option("--image", infer_args.image, "The photo whose face's identity is kept")->required()->check(
      CLI::ExistingFile);
  mix->add_option("--attribute", shared->attribute,
                  "The photo whose faces get that identity (pose, expression, light kept)")
      ->required()
      ->check(CLI::ExistingFile);
  add_common_options(mix, infer_args, true, false);
  add_photo_options(mix, PhotoOperation::kMix, photo_args, infer_args);
  on_run(mix, invocation, shared,
         [](const InferOperationArgs& a) { return run_mix(a.infer, a.attribute, a.photo); });

  auto* transfer = infer->add_subcommand(
      "transfer", "PairedCycleGAN: the source face wearing the reference's makeup (images of the training size)");
  transfer->add_option("--image,--source", infer_args.image, "Source photo (bare face)")->required()->check(
      CLI::ExistingFile);
  transfer->add_option("--landmarks", makeup_args.landmarks, "Source's 68 landmarks (.pts, or 'x y' lines; "
                                                             "`facegan detect` and `facegan render` write them): "
                                                             "instead of detecting; required with --no-detect")
      ->check(CLI::ExistingFile);
  transfer->add_option("--reference", makeup_args.reference, "Reference photo (face wearing makeup)")->required()->check(
      CLI::ExistingFile);
  transfer->add_option("--reference-landmarks", makeup_args.reference_landmarks,
                       "Reference's 68 landmarks: instead of detecting; required with --no-detect")
      ->check(CLI::ExistingFile);
  transfer->add_option("--intensity", makeup_args.intensity, "Makeup strength in [0, 1] (0 returns the source)")
      ->check(CLI::Range(0.0, 1.0));
  transfer->add_option("--regions", makeup_args.regions, "Areas to transfer: eyes, lips, skin (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember({"eyes", "lips", "skin"}));
  add_common_options(transfer, infer_args, true, false);
  add_photo_options(transfer, PhotoOperation::kTransfer, photo_args, infer_args);
  on_run(transfer, invocation, shared,
         [](const InferOperationArgs& a) { return run_transfer(a.infer, a.makeup, a.photo); });

  auto* remove = infer->add_subcommand("remove", "PairedCycleGAN: the face without its makeup");
  remove->add_option("--image", infer_args.image, "Photo of a face wearing makeup")->required()->check(
      CLI::ExistingFile);
  remove->add_option("--landmarks", makeup_args.landmarks,
                     "Its 68 landmarks (.pts): instead of detecting; required with --no-detect")
      ->check(CLI::ExistingFile);
  add_common_options(remove, infer_args, true, false);
  add_photo_options(remove, PhotoOperation::kRemove, photo_args, infer_args);
  on_run(remove, invocation, shared,
         [](const InferOperationArgs& a) { return run_remove(a.infer, a.makeup, a.photo); });

  add_translate_operation(*infer, invocation);
}

void add_detect_command(CLI::App& app, Invocation& invocation) {
  auto shared = std::make_shared<DetectArgs>();
  DetectArgs& args = *shared;
  auto* detect = app.add_subcommand(
      "detect", "Find the faces of a photo: DIR/<name>.json (boxes, 68 landmarks), DIR/<name>.png (annotated), "
                "DIR/<name>_face<N>.pts (for --landmarks)");
  detect->add_option("photo", args.photo, "A photo (JPEG, PNG, ...; EXIF orientation honoured)")->required();
  detect->add_option("--out", args.out, "Output folder")->required();
  detect->add_option("--landmark-model", args.options.landmark_model,
                     "dlib's shape_predictor_68_face_landmarks.dat (default: $FACEGAN_LANDMARK_MODEL, else " +
                         data::default_landmark_model() + ")");
  detect->add_option("--upsample", args.options.upsample, "Double the photo 0-2 times for detection")
      ->check(CLI::Range(0, 2));
  detect->add_option("--detect-max-side", args.options.detect_max_side,
                     "Detection scans a copy at most this many pixels long (0: full size)")
      ->check(CLI::NonNegativeNumber);
  detect->add_option("--detect-threshold", args.options.detect_threshold,
                     "Added to dlib's HOG threshold (dlib: 0): higher drops weak detections, lower finds more");
  on_run(detect, invocation, shared, run_detect);
}


}  // namespace facegan::cli
