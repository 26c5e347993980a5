#include <facegan/core/error.hpp>
#include <facegan/data/image.hpp>
#include <facegan/models/blocks/architecture.hpp>
#include <facegan/models/blocks/resnet.hpp>
#include <facegan/models/blocks/unet.hpp>
#include <facegan/models/pix2pix/pix2pix.hpp>
#include <facegan/models/pix2pix/pix2pix_task.hpp>
#include <facegan/train/checkpoint.hpp>
#include <opencv2/imgproc.hpp>

namespace facegan::models {

Pix2Pix Pix2Pix::load(const std::string& checkpoint, torch::Device device, int64_t image_size) {
  const Pix2PixTaskOptions o = train::checkpoint_task_options<Pix2PixTaskOptions>(checkpoint, Pix2PixTask::kType);
  const json records = train::open_checkpoint(checkpoint).meta.value("architectures", json::object());
  std::shared_ptr<torch::nn::Module> generator;
  try {
    generator =
        records.contains("g") ? build_architecture(records["g"], "architectures.g") : UNetGenerator(o.generator).ptr();
  } catch (const ConfigError& e) {
    throw CheckpointError("checkpoint " + checkpoint + ": " + e.what());
  }
  generator->to(device);
  train::load_checkpoint_network(checkpoint, "g", *generator);
  return Pix2Pix(generator, device, image_size);
}

Pix2Pix::Pix2Pix(std::shared_ptr<torch::nn::Module> generator, torch::Device device, int64_t image_size)
    : generator_(std::move(generator)), device_(device), image_size_(image_size) {
  TORCH_CHECK(generator_ != nullptr, "Pix2Pix: a generator is required");
  TORCH_CHECK(image_size_ >= 0, "Pix2Pix: image_size must be >= 0, got ", image_size_);
  if (auto unet = std::dynamic_pointer_cast<UNetGeneratorImpl>(generator_)) {
    TORCH_CHECK(unet->options.cond_channels() == 0, "Pix2Pix: a conditioned U-Net needs its conditioning input");
    forward_ = [unet](const torch::Tensor& x) { return unet->forward(x); };
    in_channels_ = unet->options.in_channels();
    out_channels_ = unet->options.out_channels();
  } else if (auto resnet = std::dynamic_pointer_cast<ResnetGeneratorImpl>(generator_)) {
    forward_ = [resnet](const torch::Tensor& x) { return resnet->forward(x); };
    in_channels_ = resnet->options.in_channels();
    out_channels_ = resnet->options.out_channels();
  } else {
    throw ConfigError("Pix2Pix: the generator must be a UNetGenerator or a ResnetGenerator, got a " +
                      generator_->name());
  }
  generator_->to(device_);
  generator_->eval();
}

torch::Tensor Pix2Pix::translate(const torch::Tensor& images) const {
  TORCH_CHECK((images.dim() == 4 || images.dim() == 3) && images.size(-3) == in_channels_,
              "Pix2Pix: expected images [N, ", in_channels_, ", H, W] or [", in_channels_, ", H, W], got ",
              images.sizes());
  c10::InferenceMode guard;
  const torch::Tensor x = (images.dim() == 3 ? images.unsqueeze(0) : images).to(device_, torch::kFloat);
  torch::Tensor y = forward_(x).contiguous();
  return images.dim() == 3 ? y.squeeze(0) : y;
}

cv::Mat Pix2Pix::translate(const cv::Mat& image) const {
  TORCH_CHECK(!image.empty(), "Pix2Pix: empty image");
  TORCH_CHECK(in_channels_ == 3 && out_channels_ == 3,
              "Pix2Pix: cv::Mat images need a 3 -> 3 channel generator, this one is ", in_channels_, " -> ",
              out_channels_, "; use the tensor overload");
  cv::Mat input = image;
  if (image_size_ > 0 && (image.rows != image_size_ || image.cols != image_size_)) {
    cv::resize(image, input, cv::Size(static_cast<int>(image_size_), static_cast<int>(image_size_)), 0, 0,
               cv::INTER_AREA);
  }
  cv::Mat out = data::tensor_to_image(translate(data::image_to_tensor(input)).cpu());
  if (out.rows != image.rows || out.cols != image.cols) cv::resize(out, out, image.size(), 0, 0, cv::INTER_LINEAR);
  return out;
}

}  // namespace facegan::models
