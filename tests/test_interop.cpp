// Weights both ways with Python PyTorch without Python: the state dict file format, the key maps,
// import into checkpoints the inference APIs load, export back. The round trips through Python
// itself are tests/interop/run.sh (CTest "interop_python").
#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <facegan/core/error.hpp>
#include <facegan/models/derl/derl.hpp>
#include <facegan/models/derl/derl_task.hpp>
#include <facegan/models/interop/python_weights.hpp>
#include <facegan/models/makeup/makeup.hpp>
#include <facegan/models/makeup/makeup_task.hpp>
#include <facegan/models/open_set/open_set.hpp>
#include <facegan/models/open_set/open_set_task.hpp>
#include <facegan/models/pix2pix/pix2pix.hpp>
#include <facegan/train/checkpoint.hpp>
#include <facegan/train/task.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "test_util.hpp"

using namespace facegan;
using namespace facegan::models;
using Catch::Matchers::Contains;

namespace {

/// Every parameter and buffer of `net` set from a seeded generator (batch norm statistics
/// included, kept positive), so that eval-mode outputs depend on all of them.
void randomize(torch::nn::Module& net, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : net.named_parameters()) p.value().normal_(0.0, 0.1);
  for (auto& b : net.named_buffers()) {
    if (b.value().is_floating_point()) b.value().uniform_(0.5, 1.5);
  }
}

/// A task built from `spec`, its networks randomized.
std::shared_ptr<train::Task> random_task(const json& spec, uint64_t seed) {
  auto task = train::create_task(spec);
  for (auto& [name, net] : task->networks()) randomize(*net, seed++);
  return task;
}

/// The state dict of each of a task's networks under their Python names, written to `dir`.
std::vector<std::pair<std::string, std::string>> export_task(train::Task& task, const std::string& dir,
                                                             const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, std::string>> files;
  for (auto& [name, net] : task.networks()) {
    if (std::find(names.begin(), names.end(), name) == names.end()) continue;
    const PythonCounterpart python = python_counterpart(task.type(), name, *net);
    const std::string file = dir + "/" + name + ".pth";
    write_state_dict(file, export_state_dict(*net, python.keys));
    files.emplace_back(name, file);
  }
  return files;
}

}  // namespace

TEST_CASE("state dict files keep names, order, dtypes, shapes and values", "[interop]") {
  const std::string dir = testing::fresh_dir("interop_io");
  torch::manual_seed(1);
  const StateDict in = {{"model.0.weight", torch::randn({3, 4}).t()},  // not contiguous
                        {"model.1.num_batches_tracked", torch::tensor(int64_t{7}).reshape({})},
                        {"empty", torch::zeros({0, 4})},
                        {"mask", torch::rand({5}) > 0.5},
                        {"half", torch::randn({2, 2}).to(torch::kHalf)},
                        {"big", torch::tensor({int64_t{1} << 40, int64_t{-3}})}};
  write_state_dict(dir + "/sd.pth", in);
  const StateDict out = read_state_dict(dir + "/sd.pth");
  REQUIRE(out.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    CHECK(out[i].first == in[i].first);
    CHECK(out[i].second.scalar_type() == in[i].second.scalar_type());
    CHECK(out[i].second.sizes() == in[i].second.sizes());
    CHECK(torch::equal(out[i].second, in[i].second));
  }
  CHECK_THROWS_WITH(write_state_dict(dir + "/dup.pth", {{"a", torch::zeros(1)}, {"a", torch::zeros(1)}}),
                    Contains("duplicate key 'a'"));
}

TEST_CASE("a file that is not a state dict is an error naming the file and what it holds", "[interop]") {
  const std::string dir = testing::fresh_dir("interop_not_sd");
  const std::string text = dir + "/notes.txt";
  std::ofstream(text) << "not a state dict\n";
  CHECK_THROWS_WITH(read_state_dict(text), Contains(text) && Contains("not a zip archive of torch.save"));
  CHECK_THROWS_WITH(read_state_dict(dir + "/missing.pth"),
                    Contains(dir + "/missing.pth") && Contains("does not exist"));

  // A facegan checkpoint is a TorchScript archive.
  const std::string ckpt = dir + "/ckpt.pt";
  train::save_network_checkpoint(ckpt, {{"d", PatchDiscriminator(PatchDiscriminatorOptions(3).base_channels(4)).ptr()}},
                                 {{"task", {{"type", "pix2pix"}}}});
  CHECK_THROWS_WITH(read_state_dict(ckpt), Contains(ckpt) && Contains("TorchScript archive"));

  // A torch.save zip archive of something else.
  const std::string list = dir + "/list.pth";
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(c10::List<int64_t>({1, 2})));
  std::ofstream(list, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  CHECK_THROWS_WITH(read_state_dict(list), Contains(list) && Contains("not a dict of tensors"));
}

TEST_CASE("pix2pix key maps give every tensor pytorch-CycleGAN-and-pix2pix's name", "[interop]") {
  // Counts and names from benchmarks/python/reference_nets.py (len(net.state_dict()), its keys).
  struct Case {
    std::shared_ptr<torch::nn::Module> net;
    KeyMap keys;
    size_t tensors;
  };
  const auto unet = [](Norm n) { return UNetGeneratorOptions().norm(n); };
  const auto resnet = [](Norm n) { return ResnetGeneratorOptions().norm(n); };
  const auto patch = [](Norm n) { return PatchDiscriminatorOptions(6).norm(n); };
  const std::vector<Case> cases = {
      {UNetGenerator(unet(Norm::kBatch)).ptr(), pix2pix_unet_keys(unet(Norm::kBatch)), 82},
      {UNetGenerator(unet(Norm::kInstance)).ptr(), pix2pix_unet_keys(unet(Norm::kInstance)), 32},
      {ResnetGenerator(resnet(Norm::kBatch)).ptr(), pix2pix_resnet_keys(resnet(Norm::kBatch)), 140},
      {ResnetGenerator(resnet(Norm::kInstance)).ptr(), pix2pix_resnet_keys(resnet(Norm::kInstance)), 48},
      {PatchDiscriminator(patch(Norm::kBatch)).ptr(), pix2pix_patchgan_keys(patch(Norm::kBatch)), 22},
      {PatchDiscriminator(patch(Norm::kInstance)).ptr(), pix2pix_patchgan_keys(patch(Norm::kInstance)), 10},
  };
  for (const auto& c : cases) {
    const StateDict sd = export_state_dict(*c.net, c.keys);
    CHECK(sd.size() == c.tensors);
  }
  const KeyMap u = pix2pix_unet_keys(unet(Norm::kBatch));
  CHECK(u.python_name("down.0.conv.weight") == "model.model.0.weight");
  CHECK(u.python_name("down.2.conv.weight") == "model.model.1.model.3.model.1.weight");
  CHECK(u.python_name("up.0.conv.bias") == "model.model.3.bias");
  CHECK(u.python_name("up.1.norm.running_mean") == "model.model.1.model.6.running_mean");
  CHECK(u.python_name("up.7.norm.weight") ==
        "model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.4.weight");
  CHECK(pix2pix_unet_keys(unet(Norm::kBatch), "").python_name("down.0.conv.weight") == "model.0.weight");
  const KeyMap r = pix2pix_resnet_keys(resnet(Norm::kInstance));
  CHECK(r.python_name("stem.conv.weight") == "model.1.weight");
  CHECK(r.python_name("blocks.0.conv2.conv.weight") == "model.10.conv_block.5.weight");
  CHECK(r.python_name("up.1.conv.bias") == "model.22.bias");
  CHECK(r.python_name("head.conv.weight") == "model.26.weight");
  CHECK(pix2pix_resnet_keys(resnet(Norm::kInstance).dropout(0.5)).python_name("blocks.8.conv2.conv.weight") ==
        "model.18.conv_block.6.weight");
  const KeyMap p = pix2pix_patchgan_keys(patch(Norm::kBatch));
  CHECK(p.python_name("stages.3.norm.running_var") == "model.9.running_var");
  CHECK(p.python_name("stages.4.conv.weight") == "model.11.weight");
  CHECK_FALSE(p.python_name("stages.9.conv.weight").has_value());
  const KeyMap f = mirror_patch_features_keys(PatchDiscriminatorOptions(3).num_layers(2));
  CHECK(f.python_name("stages.0.conv.bias") == "blocks.0.0.bias");
  CHECK(f.python_name("stages.2.norm.weight") == "blocks.2.6.weight");
  CHECK(f.python_name("stages.3.conv.weight") == "blocks.3.8.weight");
}

TEST_CASE("every network of the paper tasks has a Python counterpart naming each tensor once", "[interop]") {
  const std::vector<json> specs = {
      {{"type", "pix2pix"},
       {"generator", {{"depth", 5}, {"base_channels", 4}}},
       {"discriminator", {{"base_channels", 4}}}},
      {{"type", "open_set"}, {"image_size", 32}, {"attribute_skip_size", 8}},
      {{"type", "identity_classifier"}},
      {{"type", "makeup"}},
      {{"type", "derl"}, {"stage", "classify"}, {"generator", {{"depth", 5}, {"base_channels", 4}}}},
  };
  for (const auto& spec : specs) {
    auto task = train::create_task(spec);
    for (auto& [name, net] : task->networks()) {
      INFO(task->type() << " " << name);
      const PythonCounterpart python = python_counterpart(task->type(), name, *net);
      CHECK(export_state_dict(*net, python.keys).size() == net->parameters().size() + net->buffers().size());
    }
  }
  auto baseline = train::create_task({{"type", "derl"}, {"stage", "baseline_cnn"}});
  CHECK_THROWS_WITH(python_counterpart("derl", "classifier", *baseline->networks()[0].second),
                    Contains("'classifier' of task 'derl'") && Contains("no Python counterpart"));
  CHECK_THROWS_WITH(python_counterpart("makeup", "h", *baseline->networks()[0].second),
                    Contains("d_x") && Contains("'h'"));
}

TEST_CASE("a state dict loads through a key map only when every key and shape fits", "[interop]") {
  auto o = UNetGeneratorOptions().depth(5).base_channels(4);
  UNetGenerator source(o), target(o);
  randomize(*source, 1);
  randomize(*target, 2);
  const KeyMap keys = pix2pix_unet_keys(o);
  StateDict sd = export_state_dict(*source, keys);

  SECTION("a fitting one copies every tensor") {
    const ImportReport report = load_state_dict(*target, keys, sd, "g.pth");
    CHECK(report.unused.empty());
    CHECK(report.missing.empty());
    const StateDict back = export_state_dict(*target, keys);
    for (size_t i = 0; i < sd.size(); ++i) CHECK(torch::equal(back[i].second, sd[i].second));
  }
  SECTION("one tensor of the wrong shape names the key and both shapes, and copies nothing") {
    for (auto& [k, t] : sd) {
      if (k == "model.model.1.model.1.weight") t = torch::zeros({8, 4, 3, 3});
    }
    const auto before = target->parameters()[0].clone();
    CHECK_THROWS_WITH(load_state_dict(*target, keys, sd, "g.pth", /*strict=*/false),
                      Contains("g.pth") && Contains("'model.model.1.model.1.weight' has shape [8, 4, 3, 3]") &&
                          Contains("down.1.conv.weight needs [8, 4, 4, 4]"));
    CHECK(torch::equal(target->parameters()[0], before));
  }
  SECTION("a missing key is named; a non-strict load reports it and the extra ones") {
    sd.erase(sd.begin() + 3);
    const std::string gone = export_state_dict(*source, keys)[3].first;
    sd.emplace_back("model.extra.weight", torch::zeros({2}));
    CHECK_THROWS_WITH(load_state_dict(*target, keys, sd, "g.pth"),
                      Contains("g.pth") && Contains("missing key '" + gone + "'") &&
                          Contains("unexpected key 'model.extra.weight' (shape [2])") && Contains("non-strict"));
    const ImportReport report = load_state_dict(*target, keys, sd, "g.pth", /*strict=*/false);
    CHECK(report.missing == std::vector<std::string>{gone});
    CHECK(report.unused == std::vector<std::string>{"model.extra.weight"});
  }
}

TEST_CASE("imported pix2pix generators translate as the networks they came from", "[interop]") {
  const std::string dir = testing::fresh_dir("interop_pix2pix");
  torch::manual_seed(5);

  SECTION("unet_128, batch norm, with its PatchGAN") {
    auto o = UNetGeneratorOptions(3, 3).depth(7).base_channels(4);
    UNetGenerator g(o);
    PatchDiscriminator d(PatchDiscriminatorOptions(6).base_channels(4));
    randomize(*g, 1);
    randomize(*d, 2);
    write_state_dict(dir + "/G.pth", export_state_dict(*g, pix2pix_unet_keys(o)));
    write_state_dict(dir + "/D.pth", export_state_dict(*d, pix2pix_patchgan_keys(d->options)));
    PythonImport spec;
    spec.arch = "unet_128";
    spec.norm = Norm::kBatch;
    spec.state_dicts = {{"", dir + "/G.pth"}, {"d", dir + "/D.pth"}};
    const auto imported = import_python_weights(spec, dir + "/unet.pt");
    REQUIRE(imported.size() == 2);
    CHECK(imported[0].python_class == "networks.UnetGenerator");
    CHECK(imported[0].parameters == count_parameters(*g));
    const auto x = torch::rand({1, 3, 128, 128}) * 2 - 1;
    g->eval();
    const auto model = Pix2Pix::load(dir + "/unet.pt");
    CHECK(torch::allclose(model.translate(x), g->forward(x), 0, 1e-6));
    const auto dn = load_python_counterpart(dir + "/unet.pt", "d");
    d->eval();
    CHECK(torch::allclose(dn.module->as<PatchDiscriminator>()->forward(torch::cat({x, x}, 1)),
                          d->forward(torch::cat({x, x}, 1)), 0, 1e-6));
  }
  SECTION("resnet_6blocks, instance norm, trained with dropout") {
    auto o = ResnetGeneratorOptions(3, 3).num_blocks(6).base_channels(4).dropout(0.5);
    ResnetGenerator g(o);
    randomize(*g, 3);
    write_state_dict(dir + "/G.pth", export_state_dict(*g, pix2pix_resnet_keys(o)));
    PythonImport spec;
    spec.arch = "resnet_6blocks";
    spec.norm = Norm::kInstance;
    spec.state_dicts = {{"", dir + "/G.pth"}};
    import_python_weights(spec, dir + "/resnet.pt");
    const auto x = torch::rand({2, 3, 32, 32}) * 2 - 1;
    g->eval();
    const auto model = Pix2Pix::load(dir + "/resnet.pt");
    CHECK(torch::allclose(model.translate(x), g->forward(x), 0, 1e-6));
    CHECK(read_state_dict(dir + "/G.pth").size() ==
          export_state_dict(*load_python_counterpart(dir + "/resnet.pt", "g").module, pix2pix_resnet_keys(o)).size());
  }
  SECTION("wrong norm, missing --norm, wrong network names") {
    auto o = UNetGeneratorOptions(3, 3).depth(7).base_channels(4);
    write_state_dict(dir + "/G.pth", export_state_dict(*UNetGenerator(o), pix2pix_unet_keys(o)));
    PythonImport spec;
    spec.arch = "unet_128";
    spec.state_dicts = {{"", dir + "/G.pth"}};
    CHECK_THROWS_WITH(import_python_weights(spec, dir + "/x.pt"), Contains("--norm"));
    spec.norm = Norm::kInstance;
    CHECK_THROWS_WITH(import_python_weights(spec, dir + "/x.pt"),
                      Contains(dir + "/G.pth") && Contains("missing key 'model.model.0.bias'"));
    spec.norm = Norm::kBatch;
    spec.state_dicts = {{"f", dir + "/G.pth"}};
    CHECK_THROWS_WITH(import_python_weights(spec, dir + "/x.pt"), Contains("f=") && Contains("takes g"));
    spec.arch = "patchgan";
    spec.state_dicts = {{"", dir + "/G.pth"}};
    CHECK_THROWS_WITH(import_python_weights(spec, dir + "/x.pt"),
                      Contains(dir + "/G.pth") && Contains("no key 'model.0.weight'"));
    spec.arch = "unet_512";
    CHECK_THROWS_WITH(import_python_weights(spec, dir + "/x.pt"), Contains("unet_512") && Contains("resnet_9blocks"));
    CHECK_FALSE(std::filesystem::exists(dir + "/x.pt"));
  }
}

TEST_CASE("imported paper networks load with OpenSet, Makeup and DeRL and compute the same", "[interop]") {
  const std::string dir = testing::fresh_dir("interop_tasks");
  torch::manual_seed(7);

  SECTION("open_set") {
    const json spec = {
        {"type", "open_set"},
        {"image_size", 32},
        {"num_identities", 8},
        {"identity", {{"base_channels", 4}, {"num_stages", 2}, {"blocks_per_stage", 1}, {"embedding_dim", 8}}},
        {"attribute", {{"trunk", {{"base_channels", 4}, {"max_channels", 16}}}, {"latent_dim", 4}}},
        {"generator", {{"base_channels", 4}, {"max_channels", 16}}},
        {"discriminator", {{"base_channels", 4}, {"num_layers", 2}}}};
    auto task = random_task(spec, 11);
    PythonImport in;
    in.arch = "open_set";
    in.task = {{"task", spec}};  // as a training config
    in.state_dicts = export_task(*task, dir, {"identity", "attribute", "generator", "discriminator"});
    const auto imported = import_python_weights(in, dir + "/open_set.pt");
    CHECK(imported.size() == 4);
    const auto x = torch::rand({2, 3, 32, 32}) * 2 - 1, y = torch::rand({2, 3, 32, 32}) * 2 - 1;
    const auto reference = OpenSet::from_task(dynamic_cast<OpenSetTask&>(*task)).mix(x, y);
    CHECK(torch::allclose(OpenSet::load(dir + "/open_set.pt").mix(x, y), reference, 0, 1e-6));

    in.state_dicts = {{"identity", dir + "/generator.pth"}};
    CHECK_THROWS_WITH(import_python_weights(in, dir + "/bad.pt"),
                      Contains(dir + "/generator.pth") && Contains("missing key 'stem.0.weight'"));
    in.state_dicts = {{"", dir + "/generator.pth"}};
    CHECK_THROWS_WITH(import_python_weights(in, dir + "/bad.pt"), Contains("NETWORK=FILE") && Contains("attribute"));
    in.state_dicts = {{"g", dir + "/generator.pth"}};
    CHECK_THROWS_WITH(import_python_weights(in, dir + "/bad.pt"), Contains("no network 'g'"));
  }
  SECTION("makeup") {
    const json spec = {{"type", "makeup"},
                       {"generator",
                        {{"global", {{"depth", 5}, {"base_channels", 4}}},
                         {"region", {{"depth", 4}, {"base_channels", 4}}},
                         {"crop_size", 16}}},
                       {"remover", {{"depth", 5}, {"base_channels", 4}}},
                       {"discriminator", {{"base_channels", 4}}},
                       {"style_discriminator", {{"base_channels", 4}}}};
    auto task = random_task(spec, 21);
    PythonImport in;
    in.arch = "makeup";
    in.task = spec;
    in.state_dicts = export_task(*task, dir, {"g", "f"});
    import_python_weights(in, dir + "/makeup.pt");
    const auto faces = torch::rand({1, 3, 32, 32}) * 2 - 1;
    auto areas = torch::zeros({1, 3, 32, 32});
    areas.index_put_({0, 1, torch::indexing::Slice(20, 26), torch::indexing::Slice(10, 22)}, 1.0);
    const auto reference = Makeup::from_task(dynamic_cast<MakeupTask&>(*task)).remove(faces, areas);
    CHECK(torch::allclose(Makeup::load(dir + "/makeup.pt").remove(faces, areas), reference, 0, 1e-6));
    // G through its key map: every tensor of the file back in place.
    const auto g = load_python_counterpart(dir + "/makeup.pt", "g");
    CHECK(g.python.python_class == "bench_steps.MakeupGenerator");
    const StateDict file = read_state_dict(dir + "/g.pth"), back = export_state_dict(*g.module, g.python.keys);
    REQUIRE(file.size() == back.size());
    for (size_t i = 0; i < file.size(); ++i) CHECK(torch::equal(file[i].second, back[i].second));
  }
  SECTION("derl") {
    const json spec = {{"type", "derl"},
                       {"stage", "classify"},
                       {"generator", {{"depth", 5}, {"base_channels", 4}}},
                       {"classifier", {{"local_channels", 4}, {"hidden", 8}}}};
    auto task = random_task(spec, 31);
    PythonImport in;
    in.arch = "derl";
    in.task = spec;
    in.state_dicts = export_task(*task, dir, {"g", "classifier"});
    import_python_weights(in, dir + "/derl.pt");
    const auto faces = torch::rand({2, 3, 32, 32}) * 2 - 1;
    const auto reference = DeRL::from_task(dynamic_cast<DeRLTask&>(*task)).classify(faces);
    // DeRL::load lays the networks out channels-last: other kernels, float rounding apart.
    CHECK(torch::allclose(DeRL::load(dir + "/derl.pt").classify(faces), reference, 0, 1e-5));
  }
}

TEST_CASE("export writes a checkpoint's network as its counterpart's state dict", "[interop]") {
  const std::string dir = testing::fresh_dir("interop_export");
  auto task = random_task({{"type", "pix2pix"},
                           {"generator", {{"depth", 5}, {"base_channels", 4}}},
                           {"discriminator", {{"base_channels", 4}}}},
                          41);
  train::save_network_checkpoint(dir + "/ckpt.pt", task->networks(), {{"task", task->to_json()}});
  CHECK(export_python_weights(dir + "/ckpt.pt", "d", dir + "/d.pth").python_class == "networks.NLayerDiscriminator");
  const StateDict sd = read_state_dict(dir + "/d.pth");
  const StateDict expected =
      export_state_dict(*task->networks()[1].second,
                        pix2pix_patchgan_keys(task->networks()[1].second->as<PatchDiscriminator>()->options));
  REQUIRE(sd.size() == expected.size());
  for (size_t i = 0; i < sd.size(); ++i) {
    CHECK(sd[i].first == expected[i].first);
    CHECK(torch::equal(sd[i].second, expected[i].second));
  }
  CHECK_THROWS_WITH(export_python_weights(dir + "/ckpt.pt", "q", dir + "/q.pth"),
                    Contains(dir + "/ckpt.pt") && Contains("no network 'q'") && Contains("g, d"));
}
