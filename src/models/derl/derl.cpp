#include <facegan/core/error.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/readers.hpp>
#include <facegan/models/blocks/layout.hpp>
#include <facegan/models/derl/derl.hpp>
#include <facegan/models/derl/derl_task.hpp>
#include <facegan/train/checkpoint.hpp>

#include <opencv2/imgproc.hpp>

namespace facegan::models {

DeRL::DeRL(UNetGenerator generator, ResidueClassifier classifier, std::vector<int64_t> classes, torch::Device device,
           int64_t image_size)
    : generator_(std::move(generator)),
      classifier_(std::move(classifier)),
      classes_(std::move(classes)),
      device_(device),
      image_size_(image_size) {
  TORCH_CHECK(!generator_.is_empty(), "DeRL: a generator is required");
  TORCH_CHECK(image_size_ >= 0, "DeRL: image_size must be >= 0, got ", image_size_);
  generator_->to(device_);
  generator_->eval();
  set_requires_grad(*generator_, false);
  if (!classifier_.is_empty()) {
    TORCH_CHECK(static_cast<int64_t>(classes_.size()) == classifier_->options.num_classes(), "DeRL: ",
                classes_.size(), " class ids for a classifier of ", classifier_->options.num_classes(), " classes");
    classifier_->to(device_);
    classifier_->eval();
  }
}

DeRL DeRL::load(const std::string& checkpoint, torch::Device device, int64_t image_size) {
  // The checkpoint's meta holds the task's options: rebuild the networks from them, then load.
  const DeRLTaskOptions o = train::checkpoint_task_options<DeRLTaskOptions>(checkpoint, DeRLTask::kType);
  if (o.stage == DeRLStage::kBaselineCnn) {
    throw CheckpointError("checkpoint " + checkpoint + " holds the baseline CNN, not a DeRL model");
  }
  UNetGenerator generator(o.generator);
  generator->to(device);
  train::load_checkpoint_network(checkpoint, "g", *generator, o.use_ema);
  ResidueClassifier classifier{nullptr};
  if (o.stage == DeRLStage::kClassify) {
    ResidueClassifierOptions c = o.classifier;
    c.num_classes(static_cast<int64_t>(o.classes.size()));
    classifier = ResidueClassifier(c.for_generator(o.generator));
    classifier->to(device);
    train::load_checkpoint_network(checkpoint, "classifier", *classifier, o.use_ema);
  }
  if (device.is_cpu()) {
    // These networks only run forward from here on: oneDNN's native layout makes that 6-10 % faster.
    to_channels_last(*generator);
    if (!classifier.is_empty()) to_channels_last(*classifier);
  }
  return DeRL(generator, classifier, o.classes, device, image_size);
}

DeRL DeRL::from_task(DeRLTask& task, int64_t image_size) {
  torch::Device device = torch::kCPU;
  for (const auto& p : task.generator()->parameters()) {
    device = p.device();
    break;
  }
  ResidueClassifier classifier = task.stage() == DeRLStage::kClassify ? task.classifier() : ResidueClassifier{nullptr};
  return DeRL(task.generator(), classifier, task.options().classes, device, image_size);
}

torch::Tensor DeRL::prepare(const torch::Tensor& faces) const {
  TORCH_CHECK((faces.dim() == 4 || faces.dim() == 3) && faces.size(-3) == generator_->options.in_channels(),
              "DeRL: expected faces [N, ", generator_->options.in_channels(), ", H, W] or [",
              generator_->options.in_channels(), ", H, W], got ", faces.sizes());
  torch::Tensor x = faces.dim() == 3 ? faces.unsqueeze(0) : faces;
  return x.to(device_, torch::kFloat);
}

torch::Tensor DeRL::neutralize(const torch::Tensor& faces) const {
  c10::InferenceMode guard;
  // contiguous(): a channels-last generator returns channels-last images; callers get NCHW.
  torch::Tensor y = generator_->forward(prepare(faces)).contiguous();
  return faces.dim() == 3 ? y.squeeze(0) : y;
}

torch::Tensor DeRL::classify(const torch::Tensor& faces) const {
  TORCH_CHECK(can_classify(), "DeRL::classify: this model has no classifier (a stage-1 checkpoint)");
  c10::InferenceMode guard;
  return torch::softmax(classifier_->forward(generator_->forward_features(prepare(faces))).final, 1);
}

torch::Tensor DeRL::mat_to_batch(const cv::Mat& face) const {
  TORCH_CHECK(!face.empty(), "DeRL: empty image");
  cv::Mat resized = face;
  if (image_size_ > 0 && (face.rows != image_size_ || face.cols != image_size_)) {
    cv::resize(face, resized, cv::Size(static_cast<int>(image_size_), static_cast<int>(image_size_)), 0, 0,
               cv::INTER_AREA);
  }
  return data::image_to_tensor(resized).unsqueeze(0);
}

cv::Mat DeRL::neutralize(const cv::Mat& face) const {
  cv::Mat out = data::tensor_to_image(neutralize(mat_to_batch(face)).cpu());
  if (out.rows != face.rows || out.cols != face.cols) {
    cv::resize(out, out, face.size(), 0, 0, cv::INTER_LINEAR);
  }
  return out;
}

std::vector<double> DeRL::classify(const cv::Mat& face) const {
  const torch::Tensor p = classify(mat_to_batch(face)).cpu().to(torch::kFloat64).flatten().contiguous();
  return std::vector<double>(p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
}

std::vector<std::string> DeRL::class_names() const {
  std::vector<std::string> names;
  for (int64_t id : classes_) {
    names.push_back(id >= 0 && id < static_cast<int64_t>(data::kExpressionClassNames.size())
                        ? data::kExpressionClassNames[static_cast<size_t>(id)]
                        : "class_" + std::to_string(id));
  }
  return names;
}

}  // namespace facegan::models
