#pragma once
// The photo side of the `facegan` command: `facegan detect`, and `facegan infer <operation>` on
// ordinary photos through data/face_pipeline.hpp (detect, align to the run's template, run the
// model, paste back), with --no-detect keeping the aligned-crop behaviour.

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace facegan::cli {

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

/// Adds --face, --no-detect and the detector options to an infer operation, and the options each
/// operation has of its own: --landmarks (neutralize, classify, mix), --attribute-landmarks and
/// --identity-face (mix), --reference-face (transfer), --out (classify: annotated image + JSON).
/// transfer and remove declare --landmarks themselves (their meaning predates the pipeline).
void add_photo_options(CLI::App* op, PhotoOperation operation, PhotoArgs& photo, InferArgs& infer);

/// Arguments of `facegan detect`.
struct DetectArgs {
  std::string photo;
  std::string out;
  PhotoArgs options;
};

/// Registers `facegan detect PHOTO --out DIR`.
CLI::App* add_detect_command(CLI::App& app, DetectArgs& args);

/// `facegan detect`: DIR/<stem>.json (boxes, scores, 68 landmarks), DIR/<stem>.png (annotated)
/// and DIR/<stem>_face<N>.pts per face (for --landmarks).
int run_detect(const DetectArgs& args);

int run_neutralize(const InferArgs& a, const PhotoArgs& p);
int run_classify(const InferArgs& a, const PhotoArgs& p);
int run_mix(const InferArgs& a, const std::string& attribute, const PhotoArgs& p);
int run_transfer(const InferArgs& a, const MakeupArgs& m, const PhotoArgs& p);
int run_remove(const InferArgs& a, const MakeupArgs& m, const PhotoArgs& p);

}  // namespace facegan::cli
