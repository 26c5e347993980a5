#include "cmd_weights.hpp"

#include <cstdio>
#include <facegan/facegan.hpp>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

namespace fs = std::filesystem;

struct WeightsCommands::Args {
  std::string arch, norm, config, out, checkpoint, network, image, device = "cpu";
  std::vector<std::string> state_dicts;
  bool strict = true;
  int64_t size = 0;
};

WeightsCommands::WeightsCommands(CLI::App& app, CLI::App& infer) : args_(std::make_shared<Args>()) {
  Args& a = *args_;
  std::vector<std::string> archs = facegan::models::pix2pix_architectures();
  for (const auto& t : facegan::models::python_task_types()) archs.push_back(t);

  import_ = app.add_subcommand("import",
                               "Import PyTorch state dicts (torch.save(net.state_dict(), f)) of "
                               "pytorch-CycleGAN-and-pix2pix or of facegan's Python mirrors into a checkpoint "
                               "(docs/python-weights.md)");
  import_
      ->add_option("--arch", a.arch,
                   "unet_256, unet_128, resnet_9blocks, resnet_6blocks, patchgan (pix2pix's --netG "
                   "/ --netD), or a task type whose networks the file(s) hold")
      ->required()
      ->check(CLI::IsMember(archs));
  import_->add_option("--norm", a.norm, "batch or instance (pix2pix's --norm; required for the pix2pix architectures)")
      ->check(CLI::IsMember({"batch", "instance"}));
  import_
      ->add_option("--state-dict", a.state_dicts,
                   "FILE, or NETWORK=FILE (repeat for several networks: g=latest_net_G.pth d=latest_net_D.pth; "
                   "identity=i.pth attribute=a.pth ... for a task)")
      ->required();
  import_
      ->add_option("--config", a.config,
                   "A task type's options: a training config or task JSON file (default: the task's defaults)")
      ->check(CLI::ExistingFile);
  import_->add_option("--strict", a.strict,
                      "false: skip missing and unexpected keys and list them (shapes must still match)");
  import_->add_option("--out", a.out, "Output checkpoint (.pt), loadable by `facegan infer` and the C++ APIs")
      ->required();

  export_ = app.add_subcommand("export",
                               "Write a checkpoint's network as a PyTorch state dict for its Python counterpart "
                               "(docs/python-weights.md)");
  export_->add_option("--checkpoint", a.checkpoint, "A checkpoint of a run or of `facegan import`")
      ->required()
      ->check(CLI::ExistingFile);
  export_->add_option("--network", a.network, "The network, e.g. g, d, f, identity, generator, classifier")->required();
  export_->add_option("--out", a.out, "Output state dict (.pth): torch.load(FILE) in Python")->required();

  translate_ = infer.add_subcommand("translate",
                                    "pix2pix: the generator's translation of an image (pix2pix checkpoints, "
                                    "imported pytorch-CycleGAN-and-pix2pix generators)");
  translate_->add_option("--image", a.image, "Input image")->required()->check(CLI::ExistingFile);
  translate_->add_option("--checkpoint", a.checkpoint, "A pix2pix checkpoint (of a run or of `facegan import`)")
      ->required()
      ->check(CLI::ExistingFile);
  translate_->add_option("--out", a.out, "Output image file (.png, .jpg)")->required();
  translate_->add_option("--device", a.device, "cpu, cuda or cuda:N");
  translate_->add_option("--size", a.size,
                         "Resize inputs to SIZE x SIZE for the network (e.g. 256 for unet_256; 0 = as "
                         "they are); outputs are resized back");
}

namespace {

int run_import(const std::string& arch, const std::string& norm, const std::string& config,
               const std::vector<std::string>& state_dicts, bool strict, const std::string& out) {
  facegan::models::PythonImport spec;
  spec.arch = arch;
  if (!norm.empty()) spec.norm = facegan::enum_from_string<facegan::models::Norm>(norm, "--norm");
  if (!config.empty()) spec.task = facegan::load_json_file(config);
  for (const auto& item : state_dicts) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      spec.state_dicts.emplace_back("", item);
    } else {
      spec.state_dicts.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
  }
  spec.strict = strict;
  for (const auto& n : facegan::models::import_python_weights(spec, out)) {
    std::printf("%s <- %s (%s, %lld parameters)\n", n.network.c_str(), n.file.c_str(), n.python_class.c_str(),
                static_cast<long long>(n.parameters));
    for (const auto& key : n.report.unused) std::printf("  skipped %s: no facegan tensor takes it\n", key.c_str());
    for (const auto& key : n.report.missing) std::printf("  missing %s: left at initialisation\n", key.c_str());
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace

std::optional<int> WeightsCommands::run() const {
  const Args& a = *args_;
  if (*import_) return run_import(a.arch, a.norm, a.config, a.state_dicts, a.strict, a.out);
  if (*export_) {
    const auto python = facegan::models::export_python_weights(a.checkpoint, a.network, a.out);
    std::printf("wrote %s: network '%s' as a state dict of %s; in Python: net.load_state_dict(torch.load('%s'))\n",
                a.out.c_str(), a.network.c_str(), python.python_class.c_str(), a.out.c_str());
    return 0;
  }
  if (*translate_) {
    torch::Device device = torch::kCPU;
    try {
      device = torch::Device(a.device);
    } catch (const std::exception&) {
      throw facegan::ConfigError("--device: '" + a.device + "' is not a device (cpu, cuda, cuda:1)");
    }
    const auto model = facegan::models::Pix2Pix::load(a.checkpoint, device, a.size);
    const cv::Mat image = cv::imread(a.image, cv::IMREAD_COLOR);
    if (image.empty()) throw facegan::DataError("cannot read image " + a.image);
    const auto parent = fs::path(a.out).parent_path();
    if (!parent.empty()) fs::create_directories(parent);
    if (!cv::imwrite(a.out, model.translate(image))) throw facegan::Error("cannot write image " + a.out);
    std::printf("wrote %s\n", a.out.c_str());
    return 0;
  }
  return std::nullopt;
}
