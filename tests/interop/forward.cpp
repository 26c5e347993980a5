// The C++ side of tests/interop/roundtrip.py: for each job, runs network NETWORK of CHECKPOINT
// (rebuilt and loaded as `facegan export` does, eval mode) on the tensors of INPUTS.pth and writes
// its outputs to OUTPUTS.pth (one process for many jobs: loading LibTorch takes most of a second). Inputs by name: x
// (image), cond (U-Net conditioning), z and skip (decoder), warped, areas and landmarks (makeup generator). Outputs: y,
// or embedding/logits (IdentityNet), mu/logvar (VariationalEncoder).
//   interop_forward CHECKPOINT NETWORK INPUTS.pth OUTPUTS.pth [CHECKPOINT NETWORK INPUTS.pth OUTPUTS.pth ...]
#include <facegan/facegan.hpp>
#include <iostream>
#include <map>

using namespace facegan::models;

namespace {

/// One job; false when the network has no forward here.
bool run(const std::string& checkpoint, const std::string& name, const std::string& inputs,
         const std::string& outputs) {
  const auto network = load_python_counterpart(checkpoint, name);
  std::map<std::string, torch::Tensor> in;
  for (const auto& [k, t] : read_state_dict(inputs)) in[k] = t;
  const auto input = [&](const std::string& key) {
    auto it = in.find(key);
    return it == in.end() ? torch::Tensor() : it->second;
  };
  torch::NoGradGuard no_grad;
  StateDict out;
  torch::nn::Module* m = network.module.get();
  if (auto* unet = dynamic_cast<UNetGeneratorImpl*>(m)) {
    out.emplace_back("y", unet->forward(input("x"), input("cond")));
  } else if (auto* resnet = dynamic_cast<ResnetGeneratorImpl*>(m)) {
    out.emplace_back("y", resnet->forward(input("x")));
  } else if (auto* patch = dynamic_cast<PatchDiscriminatorImpl*>(m)) {
    out.emplace_back("y", patch->forward(input("x")));
  } else if (auto* identity = dynamic_cast<IdentityNetImpl*>(m)) {
    const auto r = identity->forward(input("x"));
    out = {{"embedding", r.embedding}, {"logits", r.logits}};
  } else if (auto* attribute = dynamic_cast<VariationalEncoderImpl*>(m)) {
    const auto r = attribute->forward(input("x"));
    out = {{"mu", r.mu}, {"logvar", r.logvar}};
  } else if (auto* decoder = dynamic_cast<ConvDecoderImpl*>(m)) {
    out.emplace_back("y", decoder->forward(input("z"), input("skip")));
  } else if (auto* makeup = dynamic_cast<MakeupGeneratorImpl*>(m)) {
    out.emplace_back("y", makeup->deltas(input("x"), input("warped"), input("areas"), input("landmarks")));
  } else {
    std::cerr << "interop_forward: no forward for a " << m->name() << "\n";
    return false;
  }
  write_state_dict(outputs, out);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || (argc - 1) % 4 != 0) {
    std::cerr << "usage: interop_forward CHECKPOINT NETWORK INPUTS.pth OUTPUTS.pth [...]\n";
    return 2;
  }
  try {
    torch::set_num_threads(1);
    for (int i = 1; i < argc; i += 4) {
      if (!run(argv[i], argv[i + 1], argv[i + 2], argv[i + 3])) return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "interop_forward: " << facegan::error_message(e) << std::endl;
    return 1;
  }
  return 0;
}
