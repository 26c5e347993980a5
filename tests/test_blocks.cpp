#include <facegan/core/error.hpp>
#include <facegan/models/blocks/encoders.hpp>
#include <facegan/models/blocks/init.hpp>
#include <facegan/models/blocks/layout.hpp>
#include <facegan/models/blocks/patchgan.hpp>
#include <facegan/models/blocks/resnet.hpp>
#include <facegan/models/blocks/unet.hpp>

#include <catch2/catch.hpp>
#include <gradcheck.hpp>

#include <sstream>

using namespace facegan;
using namespace facegan::models;

namespace {

std::vector<std::string> state_keys(const torch::nn::Module& m) {
  std::vector<std::string> keys;
  for (const auto& kv : m.named_parameters()) keys.push_back(kv.key());
  for (const auto& kv : m.named_buffers()) keys.push_back(kv.key());
  return keys;
}

bool same_state(const torch::nn::Module& a, const torch::nn::Module& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& kv : pa) {
    if (!pb.contains(kv.key()) || !torch::equal(kv.value(), pb[kv.key()])) return false;
  }
  auto ba = a.named_buffers(), bb = b.named_buffers();
  for (const auto& kv : ba) {
    if (!bb.contains(kv.key()) || !torch::equal(kv.value(), bb[kv.key()])) return false;
  }
  return ba.size() == bb.size();
}

template <class Holder>
Holder save_and_load(Holder& source, Holder target) {
  std::stringstream stream;
  torch::save(source, stream);
  torch::load(target, stream);
  return target;
}

}  // namespace

TEST_CASE("pix2pix parity: unet_256 and the 70x70 PatchGAN match the reference", "[blocks]") {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  // Counts printed by benchmarks/python/reference_nets.py, a layer-for-layer copy of
  // pytorch-CycleGAN-and-pix2pix's networks.py.
  UNetGenerator unet(UNetGeneratorOptions(3, 3).depth(8).base_channels(64).norm(Norm::kBatch));
  CHECK(count_parameters(*unet) == 54413955);
  unet->eval();
  CHECK(unet->forward(torch::randn({1, 3, 256, 256})).sizes() == std::vector<int64_t>{1, 3, 256, 256});
  CHECK(count_parameters(*UNetGenerator(UNetGeneratorOptions(3, 3).norm(Norm::kInstance))) == 54409603);
  CHECK(count_parameters(*UNetGenerator(UNetGeneratorOptions(3, 3).depth(7))) == 41828995);
  CHECK(count_parameters(*UNetGenerator(UNetGeneratorOptions(3, 3).depth(7).norm(Norm::kInstance))) == 41825667);

  PatchDiscriminator patch(PatchDiscriminatorOptions(6));
  CHECK(count_parameters(*patch) == 2768705);
  patch->eval();
  CHECK(patch->forward(torch::randn({1, 6, 256, 256})).sizes() == std::vector<int64_t>{1, 1, 30, 30});
  CHECK(count_parameters(*PatchDiscriminator(PatchDiscriminatorOptions(6).norm(Norm::kInstance))) == 2767809);
  CHECK(count_parameters(*PatchDiscriminator(PatchDiscriminatorOptions(3))) == 2765633);
  CHECK(count_parameters(*PatchDiscriminator(PatchDiscriminatorOptions(3).norm(Norm::kInstance))) == 2764737);
}

TEST_CASE("CycleGAN parity: resnet_9blocks and resnet_6blocks match the reference", "[blocks]") {
  CHECK(count_parameters(*ResnetGenerator(ResnetGeneratorOptions())) == 11378179);
  CHECK(count_parameters(*ResnetGenerator(ResnetGeneratorOptions().norm(Norm::kBatch))) == 11383427);
  CHECK(count_parameters(*ResnetGenerator(ResnetGeneratorOptions().num_blocks(6))) == 7837699);
  CHECK(count_parameters(*ResnetGenerator(ResnetGeneratorOptions().num_blocks(6).norm(Norm::kBatch))) == 7841411);
}

TEST_CASE("generators and discriminators keep shapes over a table of sizes", "[blocks]") {
  torch::manual_seed(1);
  torch::NoGradGuard no_grad;
  struct Case {
    int64_t batch, height, width;
  };
  const auto size = GENERATE(Case{1, 32, 32}, Case{2, 64, 64}, Case{3, 64, 96}, Case{2, 96, 32});
  const auto x = torch::randn({size.batch, 3, size.height, size.width});
  const std::vector<int64_t> image_shape{size.batch, 3, size.height, size.width};

  UNetGenerator unet(UNetGeneratorOptions(3, 3).depth(5).base_channels(8));
  CHECK(unet->forward(x).sizes() == image_shape);

  ResnetGenerator resnet(ResnetGeneratorOptions().base_channels(8).num_blocks(2));
  CHECK(resnet->forward(x).sizes() == image_shape);

  // Each stride-2 4x4 conv maps s -> s / 2; the two stride-1 4x4 convs each take one off.
  PatchDiscriminator patch(PatchDiscriminatorOptions(3).base_channels(8));
  CHECK(patch->forward(x).sizes() == std::vector<int64_t>{size.batch, 1, size.height / 8 - 2, size.width / 8 - 2});

  // Two layers: s -> s / 4 - 2 per scale; the second scale sees the input average-pooled by 2.
  auto multi_options = MultiScaleDiscriminatorOptions(3).num_scales(2);
  multi_options.patch().base_channels(8).num_layers(2);
  MultiScaleDiscriminator multi(multi_options);
  const auto logits = multi->forward(x);
  REQUIRE(logits.size() == 2);
  CHECK(logits[0].sizes() == std::vector<int64_t>{size.batch, 1, size.height / 4 - 2, size.width / 4 - 2});
  CHECK(logits[1].sizes() == std::vector<int64_t>{size.batch, 1, size.height / 8 - 2, size.width / 8 - 2});
  const auto multi_features = multi->forward_features(x);
  REQUIRE(multi_features.size() == 2);
  CHECK(multi_features[1].features.size() == 3);
  CHECK(torch::equal(multi_features[1].logits, logits[1]));

  ConvEncoder encoder(ConvEncoderOptions(3).base_channels(8).num_layers(3).out_dim(17));
  CHECK(encoder->forward(x).sizes() == std::vector<int64_t>{size.batch, 17});

  VariationalEncoder vae(VariationalEncoderOptions(3).latent_dim(5));
  const auto q = vae->forward(x);
  CHECK(q.mu.sizes() == std::vector<int64_t>{size.batch, 5});
  CHECK(q.logvar.sizes() == std::vector<int64_t>{size.batch, 5});
  CHECK(q.z.sizes() == std::vector<int64_t>{size.batch, 5});

  IdentityNet id(IdentityNetOptions(7).base_channels(8).num_stages(3).embedding_dim(12));
  const auto out = id->forward(x);
  CHECK(out.embedding.sizes() == std::vector<int64_t>{size.batch, 12});
  CHECK(out.logits.sizes() == std::vector<int64_t>{size.batch, 7});
  REQUIRE(out.features.size() == 3);
  CHECK(out.features[2].sizes() == std::vector<int64_t>{size.batch, 32, size.height / 4, size.width / 4});
}

TEST_CASE("UNet exposes every level's activation at the documented shapes", "[blocks]") {
  torch::manual_seed(2);
  UNetGenerator unet(UNetGeneratorOptions(3, 2).depth(4).base_channels(4).max_multiplier(4));
  const auto f = unet->forward_features(torch::randn({2, 3, 32, 32}));
  REQUIRE(f.encoder.size() == 4);
  REQUIRE(f.decoder.size() == 3);
  const std::vector<int64_t> channels{4, 8, 16, 16};
  for (size_t i = 0; i < 4; ++i) {
    const int64_t s = 32 >> (i + 1);
    CHECK(f.encoder[i].sizes() == std::vector<int64_t>{2, channels[i], s, s});
    if (i < 3) CHECK(f.decoder[i].sizes() == std::vector<int64_t>{2, channels[i], s, s});
  }
  CHECK(f.output.sizes() == std::vector<int64_t>{2, 2, 32, 32});
  unet->eval();
  const auto x = torch::randn({1, 3, 32, 32});
  CHECK(torch::equal(unet->forward(x), unet->forward_features(x).output));
}

TEST_CASE("UNet decoder ReLUs act in place on their fresh concatenation only", "[blocks]") {
  // Every up block but the innermost overwrites its input (a torch::cat made for it). The input,
  // the skips and the decoder features (DeRL reads both) must stay untouched, and the backward pass
  // through the in-place ReLUs must stay exact.
  torch::manual_seed(4);
  UNetGenerator unet(UNetGeneratorOptions(2, 2).depth(3).base_channels(3).norm(Norm::kInstance));
  unet->to(torch::kDouble);
  const torch::Tensor x = torch::randn({1, 2, 16, 16}, torch::kDouble);
  const torch::Tensor x_before = x.clone();
  const UNetFeatures f = unet->forward_features(x);
  CHECK(torch::equal(x, x_before));
  // No activation follows a down block's conv or an up block's norm: a ReLU that reached one of
  // them would leave it without negative values.
  for (const auto& e : f.encoder) CHECK((e < 0).any().item<bool>());
  for (const auto& d : f.decoder) CHECK((d < 0).any().item<bool>());
  const torch::Tensor w = torch::randn({1, 2, 16, 16}, torch::kDouble);
  auto loss = [&](const std::vector<torch::Tensor>& in) { return (unet->forward(in[0]) * w).sum(); };
  FACEGAN_CHECK_GRADIENTS(loss, {x.clone().requires_grad_(true)});
}

TEST_CASE("UNet conditioning channels accept vectors and maps, and are checked", "[blocks]") {
  torch::manual_seed(3);
  UNetGenerator unet(UNetGeneratorOptions(3, 3).depth(3).base_channels(4).cond_channels(2));
  unet->eval();
  const auto x = torch::randn({2, 3, 16, 16});
  const auto c = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}});
  const auto map = c.view({2, 2, 1, 1}).expand({2, 2, 16, 16});
  CHECK(torch::allclose(unet->forward(x, c), unet->forward(x, map)));
  CHECK_FALSE(torch::allclose(unet->forward(x, c), unet->forward(x, c.flip(1))));
  CHECK_THROWS_WITH(unet->forward(x), Catch::Contains("cond_channels = 2"));
  CHECK_THROWS_WITH(unet->forward(torch::randn({1, 3, 12, 12}), c[0].unsqueeze(0)),
                    Catch::Contains("multiples of 2^depth = 8"));
}

TEST_CASE("a residual UNet starts as the identity and learns a bounded change of its input", "[blocks]") {
  torch::manual_seed(4);
  const auto o = UNetGeneratorOptions(3, 3).depth(3).base_channels(4).residual_scale(0.5);
  UNetGenerator unet(o);
  init_weights(*unet, Init::kNormal, 0.02);
  unet->zero_output_layer();
  unet->eval();
  const auto x = torch::rand({2, 3, 16, 16}) * 2 - 1;
  CHECK(torch::equal(unet->forward(x), x));  // x + 0.5 * tanh(0)
  // Away from zero: output = clamp(x + s * tanh(U(x))), the same parameters as the plain UNet.
  UNetGenerator plain(UNetGeneratorOptions(o).residual_scale(0.0));
  torch::manual_seed(5);
  init_weights(*plain, Init::kNormal, 0.3);
  {
    torch::NoGradGuard no_grad;
    auto pp = plain->parameters(), rp = unet->parameters();
    REQUIRE(pp.size() == rp.size());
    for (size_t i = 0; i < pp.size(); ++i) rp[i].copy_(pp[i]);
  }
  plain->eval();
  const torch::Tensor expected = (x + 0.5 * plain->forward(x)).clamp(-1, 1);
  CHECK(torch::allclose(unet->forward(x), expected, 1e-6, 1e-6));
  CHECK(torch::allclose(unet->forward_features(x).output, expected, 1e-6, 1e-6));
  // Gradients through the residual path (away from the clamp) match central differences.
  UNetGenerator small(UNetGeneratorOptions(2, 2).depth(2).base_channels(2).norm(Norm::kNone).residual_scale(0.1));
  small->to(torch::kDouble);
  small->eval();
  const torch::Tensor xs = torch::rand({1, 2, 8, 8}, torch::kDouble) * 0.5;
  const torch::Tensor w = torch::randn({1, 2, 8, 8}, torch::kDouble);
  auto loss = [&](const std::vector<torch::Tensor>& in) { return (small->forward(in[0]) * w).sum(); };
  FACEGAN_CHECK_GRADIENTS(loss, {xs.clone().requires_grad_(true)});
  CHECK_THROWS_WITH(UNetGenerator(UNetGeneratorOptions(3, 1).residual_scale(0.5)),
                    Catch::Contains("residual_scale") && Catch::Contains("3 -> 1"));
  CHECK_THROWS_WITH(UNetGenerator(UNetGeneratorOptions(3, 3).residual_scale(-1)), Catch::Contains("-1"));
}

TEST_CASE("state-dict keys are pinned (they are the checkpoint format)", "[blocks]") {
  UNetGenerator unet(UNetGeneratorOptions(3, 3).depth(3).base_channels(4));
  const std::vector<std::string> unet_keys{
      "down.0.conv.weight",      "down.1.conv.weight",      "down.1.norm.weight",
      "down.1.norm.bias",        "down.2.conv.weight",      "up.0.conv.weight",
      "up.0.conv.bias",          "up.1.conv.weight",        "up.1.norm.weight",
      "up.1.norm.bias",          "up.2.conv.weight",        "up.2.norm.weight",
      "up.2.norm.bias",          "down.1.norm.running_mean", "down.1.norm.running_var",
      "down.1.norm.num_batches_tracked", "up.1.norm.running_mean", "up.1.norm.running_var",
      "up.1.norm.num_batches_tracked",   "up.2.norm.running_mean", "up.2.norm.running_var",
      "up.2.norm.num_batches_tracked"};
  auto keys = state_keys(*unet);
  auto expected = unet_keys;
  std::sort(keys.begin(), keys.end());
  std::sort(expected.begin(), expected.end());
  CHECK(keys == expected);

  PatchDiscriminator patch(PatchDiscriminatorOptions(6).num_layers(1).norm(Norm::kInstance));
  CHECK(state_keys(*patch) ==
        std::vector<std::string>{"stages.0.conv.weight", "stages.0.conv.bias", "stages.1.conv.weight",
                                 "stages.1.conv.bias", "stages.2.conv.weight", "stages.2.conv.bias"});

  IdentityNet id(IdentityNetOptions(2).num_stages(2).blocks_per_stage(1).norm(Norm::kNone));
  CHECK(state_keys(*id) == std::vector<std::string>{"stem.conv.weight",
                                                    "stem.conv.bias",
                                                    "stages.0.0.conv1.conv.weight",
                                                    "stages.0.0.conv1.conv.bias",
                                                    "stages.0.0.conv2.conv.weight",
                                                    "stages.0.0.conv2.conv.bias",
                                                    "stages.1.0.conv1.conv.weight",
                                                    "stages.1.0.conv1.conv.bias",
                                                    "stages.1.0.conv2.conv.weight",
                                                    "stages.1.0.conv2.conv.bias",
                                                    "stages.1.0.shortcut.conv.weight",
                                                    "stages.1.0.shortcut.conv.bias",
                                                    "embedding.weight",
                                                    "embedding.bias",
                                                    "classifier.weight",
                                                    "classifier.bias"});

  VariationalEncoder vae(VariationalEncoderOptions(3).latent_dim(4));
  const auto vkeys = state_keys(*vae);
  CHECK(std::count(vkeys.begin(), vkeys.end(), "mu.weight") == 1);
  CHECK(std::count(vkeys.begin(), vkeys.end(), "logvar.bias") == 1);
  CHECK(std::count(vkeys.begin(), vkeys.end(), "trunk.head.weight") == 1);
  CHECK(std::count(vkeys.begin(), vkeys.end(), "trunk.stages.1.norm.running_mean") == 1);
}

TEST_CASE("clones are independent deep copies", "[blocks]") {
  torch::manual_seed(4);
  UNetGenerator unet(UNetGeneratorOptions(3, 3).depth(3).base_channels(4));
  auto copy = std::dynamic_pointer_cast<UNetGeneratorImpl>(unet->clone());
  REQUIRE(copy);
  CHECK(same_state(*unet, *copy));
  unet->eval();
  copy->eval();
  const auto x = torch::randn({1, 3, 16, 16});
  CHECK(torch::equal(unet->forward(x), copy->forward(x)));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : copy->parameters()) p.add_(1.0);
  }
  CHECK_FALSE(same_state(*unet, *copy));
  CHECK_FALSE(torch::allclose(unet->forward(x), copy->forward(x)));

  PatchDiscriminator patch(PatchDiscriminatorOptions(3).base_channels(4));
  auto patch_copy = std::dynamic_pointer_cast<PatchDiscriminatorImpl>(patch->clone());
  CHECK(same_state(*patch, *patch_copy));
  patch_copy->named_buffers()["stages.1.norm.running_mean"].fill_(3.0);
  CHECK_FALSE(same_state(*patch, *patch_copy));
}

TEST_CASE("save and load round-trip parameters and buffers exactly", "[blocks]") {
  torch::manual_seed(5);
  UNetGenerator unet(UNetGeneratorOptions(3, 3).depth(3).base_channels(4));
  unet->forward(torch::randn({2, 3, 16, 16}));  // moves the batch-norm running statistics
  auto loaded = save_and_load(unet, UNetGenerator(UNetGeneratorOptions(3, 3).depth(3).base_channels(4)));
  CHECK(same_state(*unet, *loaded));
  unet->eval();
  loaded->eval();
  const auto x = torch::randn({1, 3, 16, 16});
  CHECK(torch::equal(unet->forward(x), loaded->forward(x)));

  IdentityNet id(IdentityNetOptions(5).base_channels(4).num_stages(2));
  auto id_loaded = save_and_load(id, IdentityNet(IdentityNetOptions(5).base_channels(4).num_stages(2)));
  CHECK(same_state(*id, *id_loaded));

  // A checkpoint of another architecture is refused, not half-loaded.
  UNetGenerator other(UNetGeneratorOptions(3, 3).depth(4).base_channels(4));
  CHECK_THROWS(save_and_load(unet, other));
}

TEST_CASE("to_channels_last keeps names and values, outputs follow the layout, checkpoints load either way",
          "[blocks]") {
  torch::manual_seed(6);
  UNetGenerator unet(UNetGeneratorOptions(3, 3).depth(3).base_channels(4));
  unet->forward(torch::randn({2, 3, 16, 16}));  // batch-norm statistics away from (0, 1)
  unet->eval();
  UNetGenerator before = std::dynamic_pointer_cast<UNetGeneratorImpl>(unet->clone());
  const torch::Tensor x = torch::randn({2, 3, 16, 16});
  torch::Tensor y_nchw;
  {
    torch::NoGradGuard ng;
    y_nchw = unet->forward(x);
  }
  CHECK_FALSE(is_channels_last(*unet));
  CHECK(y_nchw.is_contiguous());

  to_channels_last(*unet);
  CHECK(is_channels_last(*unet));
  CHECK(state_keys(*unet) == state_keys(*before));
  CHECK(same_state(*unet, *before));  // torch::equal compares values, whatever the strides
  torch::NoGradGuard ng;
  const torch::Tensor y = unet->forward(x);
  CHECK(y.is_contiguous(at::MemoryFormat::ChannelsLast));
  CHECK_FALSE(y.is_contiguous());
  CHECK(torch::allclose(y, y_nchw, 1e-5, 1e-6));

  // Checkpoints round-trip exactly either way; torch::load adopts the saved tensors, so the layout
  // travels with them.
  auto loaded = save_and_load(unet, UNetGenerator(UNetGeneratorOptions(3, 3).depth(3).base_channels(4)));
  CHECK(same_state(*loaded, *before));
  CHECK(is_channels_last(*loaded));
  auto reloaded = save_and_load(before, unet);
  CHECK(same_state(*reloaded, *before));
}

TEST_CASE("options round-trip through JSON and reject bad keys and values by name", "[blocks]") {
  const auto opts = UNetGeneratorOptions(3, 1).depth(6).norm(Norm::kInstance).dropout(0.5);
  const json j = options_to_json(opts);
  CHECK(j.at("norm") == "instance");
  CHECK(j.at("depth") == 6);
  const auto back = apply_json(UNetGeneratorOptions(), j);
  CHECK(options_to_json(back) == j);

  CHECK_THROWS_AS(apply_json(UNetGeneratorOptions(), json{{"depht", 4}}, "model.generator"), ConfigError);
  CHECK_THROWS_WITH(apply_json(UNetGeneratorOptions(), json{{"depht", 4}}, "model.generator"),
                    Catch::Contains("model.generator.depht") && Catch::Contains("depth"));
  CHECK_THROWS_WITH(apply_json(UNetGeneratorOptions(), json{{"norm", "group"}}),
                    Catch::Contains("norm") && Catch::Contains("group") && Catch::Contains("instance"));
  CHECK_THROWS_WITH(apply_json(UNetGeneratorOptions(), json{{"depth", "eight"}}),
                    Catch::Contains("depth") && Catch::Contains("integer"));
  CHECK_THROWS_WITH(apply_json(UNetGeneratorOptions(), json{{"depth", 2.5}}), Catch::Contains("depth"));
  CHECK_THROWS_WITH(apply_json(UNetGeneratorOptions(), json::array()), Catch::Contains("object"));

  // Nested options report the full path.
  CHECK_THROWS_WITH(apply_json(MultiScaleDiscriminatorOptions(), json{{"patch", {{"layers", 2}}}}, "d"),
                    Catch::Contains("d.patch.layers") && Catch::Contains("num_layers"));
  const auto ms = apply_json(MultiScaleDiscriminatorOptions(), json{{"patch", {{"num_layers", 2}}}});
  CHECK(ms.patch().num_layers() == 2);
  CHECK(ms.patch().in_channels() == 3);
}

TEST_CASE("invalid options fail at construction with the value in the message", "[blocks]") {
  CHECK_THROWS_WITH(UNetGenerator(UNetGeneratorOptions().depth(1)), Catch::Contains("depth must be >= 2, got 1"));
  CHECK_THROWS_WITH(PatchDiscriminator(PatchDiscriminatorOptions(0)), Catch::Contains("in_channels"));
  CHECK_THROWS_WITH(ConvBlock(ConvBlockOptions(3, 4).dropout(1.5)), Catch::Contains("dropout"));
  CHECK_THROWS_WITH(ResidualBlock(ResidualBlockOptions(4).stride(3)), Catch::Contains("stride must be 1 or 2, got 3"));
  CHECK_THROWS_WITH(IdentityNet(IdentityNetOptions(-1)), Catch::Contains("num_classes"));
  CHECK_THROWS_WITH(ConvBlock(ConvBlockOptions(3, 4).transposed(true).padding_mode(Padding::kReflect)),
                    Catch::Contains("zero padding"));
  ConvBlock block(ConvBlockOptions(3, 4));
  CHECK_THROWS_WITH(block->forward(torch::randn({1, 5, 8, 8})), Catch::Contains("[N, 3, H, W]"));
}

TEST_CASE("weight init follows pix2pix's schemes", "[blocks]") {
  torch::manual_seed(6);
  PatchDiscriminator patch(PatchDiscriminatorOptions(3));
  init_weights(*patch, Init::kNormal, 0.02);
  const auto w = patch->named_parameters()["stages.3.conv.weight"];  // 256 -> 512, 2M weights
  CHECK(w.mean().item<double>() == Approx(0.0).margin(1e-3));
  CHECK(w.std().item<double>() == Approx(0.02).epsilon(0.01));
  CHECK(patch->named_parameters()["stages.0.conv.bias"].abs().max().item<double>() == 0.0);
  const auto bn = patch->named_parameters()["stages.2.norm.weight"];
  CHECK(bn.mean().item<double>() == Approx(1.0).margin(0.01));

  init_weights(*patch, Init::kXavier, 1.0);
  // Xavier normal: std = gain * sqrt(2 / (fan_in + fan_out)) with fans 256*16 and 512*16.
  CHECK(w.std().item<double>() == Approx(std::sqrt(2.0 / (256 * 16 + 512 * 16))).epsilon(0.01));
  init_weights(*patch, Init::kKaiming);
  CHECK(w.std().item<double>() == Approx(std::sqrt(2.0 / (256 * 16))).epsilon(0.01));

  torch::nn::Linear linear(8, 8);
  init_weights(*linear, Init::kOrthogonal, 1.0);
  CHECK(torch::allclose(torch::mm(linear->weight, linear->weight.t()), torch::eye(8), 1e-5, 1e-5));
}

TEST_CASE("the variational encoder samples in training and returns mu in eval", "[blocks]") {
  torch::manual_seed(7);
  VariationalEncoder vae(VariationalEncoderOptions(3).latent_dim(6));
  const auto x = torch::randn({4, 3, 32, 32});
  auto q = vae->forward(x);
  CHECK_FALSE(torch::allclose(q.z, q.mu));
  // The sample is differentiable in mu and logvar (reparameterisation).
  q.z.sum().backward();
  for (const auto& kv : vae->named_parameters()) {
    INFO(kv.key());
    CHECK(kv.value().grad().defined());
  }
  vae->eval();
  q = vae->forward(x);
  CHECK(torch::equal(q.z, q.mu));
}

TEST_CASE("residual blocks add the shortcut", "[blocks]") {
  torch::manual_seed(8);
  ResidualBlock block(ResidualBlockOptions(4).norm(Norm::kNone).post_activation(false));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : block->parameters()) p.zero_();
  }
  const auto x = torch::randn({2, 4, 8, 8});
  CHECK(torch::equal(block->forward(x), x));  // zero residual branch: the identity
  ResidualBlock down(ResidualBlockOptions(4, 8).stride(2));
  CHECK(down->forward(x).sizes() == std::vector<int64_t>{2, 8, 4, 4});
}
