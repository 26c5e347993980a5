#include <facegan/core/error.hpp>
#include <facegan/metrics/metrics.hpp>
#include <facegan/models/derl/derl_task.hpp>
#include <facegan/train/checkpoint.hpp>

#include <algorithm>
#include <stdexcept>

namespace facegan::models {
namespace {

/// Accuracy of the argmax of `logits` over the labels that are not `ignore` (a device scalar).
torch::Tensor batch_accuracy(const torch::Tensor& logits, const torch::Tensor& labels, int64_t ignore) {
  const torch::Tensor valid = labels.ne(ignore);
  const torch::Tensor correct = logits.argmax(1).eq(labels).logical_and(valid);
  return correct.sum().to(torch::kFloat) / valid.sum().clamp_min(1).to(torch::kFloat);
}

}  // namespace

DeRLTask::DeRLTask(DeRLTaskOptions options) : options_(std::move(options)) {
  const auto& o = options_;
  if (o.input_key.empty() || o.target_key.empty() || o.label_key.empty()) throw ConfigError("derl: empty batch key");
  if (o.classes.size() < 2) throw ConfigError("derl.classes: need at least 2 expression classes");
  for (size_t i = 0; i < o.classes.size(); ++i) {
    if (o.classes[i] < 0) throw ConfigError("derl.classes[" + std::to_string(i) + "]: expression ids are >= 0");
    if (std::count(o.classes.begin(), o.classes.end(), o.classes[i]) > 1) {
      throw ConfigError("derl.classes: expression id " + std::to_string(o.classes[i]) + " appears twice");
    }
  }
  if (!(o.final_weight >= 0)) throw ConfigError("derl.final_weight: must be >= 0");
  for (double w : o.local_weights) {
    if (!(w >= 0)) throw ConfigError("derl.local_weights: every lambda_i must be >= 0");
  }
  const int64_t num_classes = static_cast<int64_t>(o.classes.size());

  switch (o.stage) {
    case DeRLStage::kDeexpression: {
      Pix2PixTaskOptions p;
      p.generator = o.generator;
      p.discriminator = o.discriminator;
      p.adversarial = o.adversarial;
      if (!(o.theta >= 0)) throw ConfigError("derl.theta: must be >= 0");
      if (o.reconstruction != "l1" && o.reconstruction != "l2") {
        throw ConfigError("derl.reconstruction: expected \"l1\" or \"l2\", got \"" + o.reconstruction + "\"");
      }
      p.reconstruction = json{{"type", o.reconstruction}, {"weight", o.theta}};
      p.d_loss_factor = o.d_loss_factor;
      p.optimizer_g = o.optimizer_g;
      p.optimizer_d = o.optimizer_d;
      p.init = o.init;
      p.init_gain = o.init_gain;
      p.input_key = o.input_key;
      p.target_key = o.target_key;
      try {
        pix2pix_ = std::make_shared<Pix2PixTask>(p);
      } catch (const ConfigError& e) {
        throw ConfigError(std::string("derl (stage deexpression): ") + e.what());
      }
      generator_ = pix2pix_->generator();
      break;
    }
    case DeRLStage::kClassify: {
      generator_ = UNetGenerator(o.generator);
      init_weights(*generator_, o.init, o.init_gain);
      ResidueClassifierOptions c = o.classifier;
      c.num_classes(num_classes);
      try {
        c = c.for_generator(o.generator);
      } catch (const std::invalid_argument& e) {
        throw ConfigError(std::string("derl.classifier.") + e.what());
      }
      options_.classifier = c;
      if (c.local_heads() && !o.local_weights.empty() && o.local_weights.size() != c.levels().size()) {
        throw ConfigError("derl.local_weights: " + std::to_string(o.local_weights.size()) + " lambdas for " +
                          std::to_string(c.levels().size()) + " tapped levels");
      }
      classifier_ = ResidueClassifier(c);
      if (!o.generator_checkpoint.empty()) load_generator(o.generator_checkpoint);
      freeze_generator();
      break;
    }
    case DeRLStage::kBaselineCnn: {
      ConvEncoderOptions b = o.baseline;
      b.out_dim(num_classes);
      options_.baseline = b;
      baseline_ = ConvEncoder(b);
      break;
    }
  }
  if (o.stage != DeRLStage::kDeexpression) {
    classification_ = losses::create_loss_as<losses::ClassificationLoss>(o.classification, "derl.classification");
    const int64_t ignore = classification_->options.ignore_index;
    const int64_t max_id = *std::max_element(o.classes.begin(), o.classes.end());
    // Slot 0 is label -1 (unlabelled), slot id + 1 is expression id, the last slot catches larger ids.
    class_map_ = torch::full({max_id + 3}, ignore, torch::kLong);
    for (size_t k = 0; k < o.classes.size(); ++k) class_map_[o.classes[k] + 1] = static_cast<int64_t>(k);
  }
}

json DeRLTask::to_json() const {
  json j = options_to_json(options_);
  j["type"] = kType;
  return j;
}

void DeRLTask::freeze_generator() {
  set_requires_grad(*generator_, false);
  generator_->eval();
}

void DeRLTask::load_generator(const std::string& checkpoint_path) {
  torch::NoGradGuard no_grad;
  train::load_checkpoint_network(checkpoint_path, "g", *generator_, options_.use_ema);
  if (options_.stage == DeRLStage::kClassify) freeze_generator();
}

train::NamedModules DeRLTask::networks() {
  switch (options_.stage) {
    case DeRLStage::kDeexpression:
      return pix2pix_->networks();
    case DeRLStage::kClassify:
      // "g" is listed so that it moves with the task and is checkpointed with the classifier (one
      // stage-2 file is a complete DeRL model); it is in no optimizer group.
      return {{"g", generator_.ptr()}, {"classifier", classifier_.ptr()}};
    case DeRLStage::kBaselineCnn:
      return {{"classifier", baseline_.ptr()}};
  }
  return {};
}

std::vector<train::OptimizerGroup> DeRLTask::optimizer_groups() {
  switch (options_.stage) {
    case DeRLStage::kDeexpression:
      return pix2pix_->optimizer_groups();
    case DeRLStage::kClassify:
      return {{"c", classifier_->parameters(), options_.optimizer_c}};
    case DeRLStage::kBaselineCnn:
      return {{"c", baseline_->parameters(), options_.optimizer_c}};
  }
  return {};
}

torch::Tensor DeRLTask::class_labels(const torch::Tensor& expression) const {
  TORCH_CHECK(class_map_.defined(), "derl: class labels exist only in the classify and baseline_cnn stages");
  const torch::Tensor map = class_map_.to(expression.device());
  const torch::Tensor index = (expression.to(torch::kLong) + 1).clamp(0, map.size(0) - 1);
  return map.index_select(0, index.reshape({-1}));
}

torch::Tensor DeRLTask::baseline_input(const data::Batch& batch) const {
  const torch::Tensor& x = batch.at(options_.input_key);
  if (options_.baseline_input == BaselineInput::kImage) return x;
  return x - batch.at(options_.target_key);
}

torch::Tensor DeRLTask::classify_logits(const torch::Tensor& images) {
  switch (options_.stage) {
    case DeRLStage::kClassify: {
      UNetFeatures f;
      {
        torch::NoGradGuard no_grad;
        f = generator_->forward_features(images);
      }
      return classifier_->forward(f).final;
    }
    case DeRLStage::kBaselineCnn:
      return baseline_->forward(images);
    case DeRLStage::kDeexpression:
      break;
  }
  throw ConfigError("derl: stage 'deexpression' has no classifier");
}

train::StepOutput DeRLTask::train_step(const data::Batch& batch, train::StepContext& ctx) {
  if (options_.stage == DeRLStage::kDeexpression) return pix2pix_->train_step(batch, ctx);

  const torch::Tensor& x = batch.at(options_.input_key);
  const torch::Tensor labels = class_labels(batch.at(options_.label_key));
  const int64_t ignore = classification_->options.ignore_index;
  train::StepOutput out;
  torch::Tensor total, final_logits;
  if (options_.stage == DeRLStage::kBaselineCnn) {
    {
      auto amp = ctx.autocast();
      final_logits = baseline_->forward(baseline_input(batch)).to(torch::kFloat);
      total = options_.final_weight * (*classification_)(final_logits, labels);
    }
    out.losses["final"] = total.detach();
  } else {
    // The generator stays frozen whatever mode the trainer set: eval() keeps its batch-norm
    // statistics fixed, no_grad keeps autograd out of it, and it is in no optimizer group.
    generator_->eval();
    UNetFeatures f;
    {
      torch::NoGradGuard no_grad;
      auto amp = ctx.autocast();
      f = generator_->forward_features(x);
    }
    {
      auto amp = ctx.autocast();
      ResidueLogits r = classifier_->forward(f);
      final_logits = r.final.to(torch::kFloat);
      total = options_.final_weight * (*classification_)(final_logits, labels);
      out.losses["final"] = total.detach();
      for (size_t k = 0; k < r.local.size(); ++k) {
        const double lambda = options_.local_weights.empty() ? 1.0 : options_.local_weights[k];
        const torch::Tensor term = lambda * (*classification_)(r.local[k].to(torch::kFloat), labels);
        out.losses["local_" + std::to_string(options_.classifier.levels()[k])] = term.detach();
        total = total + term;
      }
    }
  }
  ctx.step("c", total);
  out.metrics["accuracy"] = batch_accuracy(final_logits.detach(), labels, ignore);
  return out;
}

train::NamedImages DeRLTask::samples(const data::Batch& batch) {
  switch (options_.stage) {
    case DeRLStage::kDeexpression:
      return pix2pix_->samples(batch);
    case DeRLStage::kClassify: {
      const torch::Tensor& x = batch.at(options_.input_key);
      torch::NoGradGuard no_grad;
      return {{"input", x}, {"neutralized", generator_->forward(x)}};
    }
    case DeRLStage::kBaselineCnn:
      break;
  }
  return {{"input", batch.at(options_.input_key)}};
}

train::Outputs DeRLTask::predict(const data::Batch& batch) {
  if (options_.stage == DeRLStage::kDeexpression) return pix2pix_->predict(batch);
  const torch::Tensor& x = batch.at(options_.input_key);
  if (options_.stage == DeRLStage::kBaselineCnn) return {{"logits", baseline_->forward(baseline_input(batch))}};
  const ResidueLogits r = classifier_->forward(generator_->forward_features(x));
  train::Outputs out{{"logits", r.final}};
  for (size_t i = 0; i < r.local.size(); ++i) {
    out["local_logits_" + std::to_string(options_.classifier.levels()[i])] = r.local[i];
  }
  return out;
}

train::SampleScores DeRLTask::score_batch(const data::Batch& batch, const train::Outputs& outputs) {
  if (options_.stage == DeRLStage::kDeexpression) return pix2pix_->score_batch(batch, outputs);
  const torch::Tensor labels = class_labels(batch.at(options_.label_key)).cpu();
  const torch::Tensor valid = labels.ne(classification_->options.ignore_index);
  const torch::Tensor nan = torch::full(labels.sizes(), std::nan(""), torch::kFloat64);
  auto correct = [&](const torch::Tensor& logits) {
    return torch::where(valid, logits.argmax(1).cpu().eq(labels).to(torch::kFloat64), nan);
  };
  const torch::Tensor& logits = train::output_at(outputs, "logits");
  train::SampleScores s{{"accuracy", correct(logits)},
                        {"label", torch::where(valid, labels.to(torch::kFloat64), nan)},
                        {"prediction", logits.argmax(1).cpu().to(torch::kFloat64)}};
  const std::string local = "local_logits_";
  for (const auto& [name, t] : outputs) {
    if (name.rfind(local, 0) == 0) s["local_accuracy_" + name.substr(local.size())] = correct(t);
  }
  return s;
}

json DeRLTask::evaluate(const data::Dataset& dataset, const train::EvalContext& ctx) {
  const train::SampleScores scores = train::score_dataset(*this, dataset, ctx);
  if (options_.stage == DeRLStage::kDeexpression) return train::summarize_scores(scores);
  const torch::Tensor label = scores.at("label"), valid = ~torch::isnan(label);
  const int64_t n = valid.sum().item<int64_t>();
  if (n == 0) return json{{"samples", 0}};
  const int64_t k = static_cast<int64_t>(options_.classes.size());
  const torch::Tensor cm = metrics::confusion_matrix(scores.at("prediction").masked_select(valid).to(torch::kLong),
                                                  label.masked_select(valid).to(torch::kLong), k);
  json confusion = json::array();
  for (int64_t t = 0; t < k; ++t) {
    json row = json::array();
    for (int64_t p = 0; p < k; ++p) row.push_back(cm[t][p].item<int64_t>());
    confusion.push_back(row);
  }
  json result{{"accuracy", scores.at("accuracy").masked_select(valid).mean().item<double>()},
              {"confusion", confusion},
              {"samples", n}};
  json local = json::object();
  const std::string prefix = "local_accuracy_";
  for (const auto& [name, t] : scores) {
    if (name.rfind(prefix, 0) == 0) local[name.substr(prefix.size())] = t.masked_select(valid).mean().item<double>();
  }
  if (!local.empty()) result["local_accuracy"] = local;
  return result;
}

void register_derl_task(Registry<train::Task>& registry) {
  registry.add(
      DeRLTask::kType,
      [](const json& options) -> std::shared_ptr<train::Task> {
        return std::make_shared<DeRLTask>(apply_json(DeRLTaskOptions(), options, "derl"));
      },
      "DeRL (Yang et al. 2018): de-expression cGAN (stage deexpression), residue classifier on the frozen "
      "generator's activations (stage classify), plain-CNN baseline (stage baseline_cnn)",
      options_to_json(DeRLTaskOptions()));
}

namespace {
/// Options of the "derl_chance" baseline.
struct ChanceOptions {
  int64_t num_classes = 6;
  /// Seeds the guesses (the k-th batch scored draws from a generator seeded with seed and k).
  int64_t seed = 0;
  template <class V>
  void visit(V& v) {
    v("num_classes", num_classes);
    v("seed", seed);
  }
};
}  // namespace

void register_derl_baselines(Registry<train::Baseline>& registry) {
  registry.add(
      "derl_chance",
      [](const json& options) -> std::shared_ptr<train::Baseline> {
        const ChanceOptions o = apply_json(ChanceOptions(), options);
        if (o.num_classes < 2) throw ConfigError("num_classes: need at least 2, got " + std::to_string(o.num_classes));
        auto batches = std::make_shared<int64_t>(0);
        return std::make_shared<train::FunctionBaseline>([o, batches](const data::Batch& b) {
          // A uniform guess per sample: seeded per call so that a table is reproducible.
          torch::Generator gen = at::detail::createCPUGenerator(static_cast<uint64_t>(o.seed * 1000003 + (*batches)++));
          const torch::Tensor logits = torch::rand({b.size(), o.num_classes}, gen);
          return train::Outputs{{"logits", logits}};
        });
      },
      "chance: a uniform random class per sample (expected accuracy 1 / num_classes); scored by a DeRL "
      "classify or baseline_cnn task",
      options_to_json(ChanceOptions()));
}

}  // namespace facegan::models
