// The `facegan` commands of docs/python-weights.md: `import` (a PyTorch state dict into a
// checkpoint), `export` (a checkpoint's network as a state dict) and `infer translate` (a pix2pix
// generator on an image).
#include "commands.hpp"
#include "options.hpp"

#include <facegan/facegan.hpp>

#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace facegan::cli {
namespace {

struct ImportArgs {
  std::string arch, norm, config, out;
  std::vector<std::string> state_dicts;
  bool strict = true;
};

struct ExportArgs {
  std::string checkpoint, network, out;
};

struct TranslateArgs {
  std::string image, checkpoint, out, device = "cpu";
  int64_t size = 0;
};

int run_import(const ImportArgs& a) {
  models::PythonImport spec;
  spec.arch = a.arch;
  if (!a.norm.empty()) spec.norm = enum_from_string<models::Norm>(a.norm, "--norm");
  if (!a.config.empty()) spec.task = load_json_file(a.config);
  for (const auto& item : a.state_dicts) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      spec.state_dicts.emplace_back("", item);
    } else {
      spec.state_dicts.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
  }
  spec.strict = a.strict;
  for (const auto& n : models::import_python_weights(spec, a.out)) {
    std::printf("%s <- %s (%s, %lld parameters)\n", n.network.c_str(), n.file.c_str(), n.python_class.c_str(),
                static_cast<long long>(n.parameters));
    for (const auto& key : n.report.unused) std::printf("  skipped %s: no facegan tensor takes it\n", key.c_str());
    for (const auto& key : n.report.missing) std::printf("  missing %s: left at initialisation\n", key.c_str());
  }
  std::printf("wrote %s\n", a.out.c_str());
  return 0;
}

int run_export(const ExportArgs& a) {
  const auto python = models::export_python_weights(a.checkpoint, a.network, a.out);
  std::printf("wrote %s: network '%s' as a state dict of %s; in Python: net.load_state_dict(torch.load('%s'))\n",
              a.out.c_str(), a.network.c_str(), python.python_class.c_str(), a.out.c_str());
  return 0;
}

int run_translate(const TranslateArgs& a) {
  const auto model = models::Pix2Pix::load(a.checkpoint, parse_device(a.device), a.size);
  const cv::Mat image = cv::imread(a.image, cv::IMREAD_COLOR);
  if (image.empty()) throw DataError("cannot read image " + a.image);
  const auto parent = fs::path(a.out).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  if (!cv::imwrite(a.out, model.translate(image))) throw Error("cannot write image " + a.out);
  std::printf("wrote %s\n", a.out.c_str());
  return 0;
}

}  // namespace

void add_weights_commands(CLI::App& app, Invocation& invocation) {
  std::vector<std::string> archs = models::pix2pix_architectures();
  for (const auto& t : models::python_task_types()) archs.push_back(t);

  auto import_args = std::make_shared<ImportArgs>();
  ImportArgs& a = *import_args;
  auto* import_ = app.add_subcommand("import",
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
  on_run(import_, invocation, import_args, run_import);

  auto export_args = std::make_shared<ExportArgs>();
  auto* export_ = app.add_subcommand("export",
                                     "Write a checkpoint's network as a PyTorch state dict for its Python counterpart "
                                     "(docs/python-weights.md)");
  export_->add_option("--checkpoint", export_args->checkpoint, "A checkpoint of a run or of `facegan import`")
      ->required()
      ->check(CLI::ExistingFile);
  export_->add_option("--network", export_args->network, "The network, e.g. g, d, f, identity, generator, classifier")
      ->required();
  export_->add_option("--out", export_args->out, "Output state dict (.pth): torch.load(FILE) in Python")->required();
  on_run(export_, invocation, export_args, run_export);
}

void add_translate_operation(CLI::App& infer, Invocation& invocation) {
  auto args = std::make_shared<TranslateArgs>();
  auto* translate = infer.add_subcommand("translate",
                                         "pix2pix: the generator's translation of an image (pix2pix checkpoints, "
                                         "imported pytorch-CycleGAN-and-pix2pix generators)");
  translate->add_option("--image", args->image, "Input image")->required()->check(CLI::ExistingFile);
  translate->add_option("--checkpoint", args->checkpoint, "A pix2pix checkpoint (of a run or of `facegan import`)")
      ->required()
      ->check(CLI::ExistingFile);
  translate->add_option("--out", args->out, "Output image file (.png, .jpg)")->required();
  translate->add_option("--device", args->device, "cpu, cuda or cuda:N");
  translate->add_option("--size", args->size,
                        "Resize inputs to SIZE x SIZE for the network (e.g. 256 for unet_256; 0 = as "
                        "they are); outputs are resized back");
  on_run(translate, invocation, args, run_translate);
}

}  // namespace facegan::cli
