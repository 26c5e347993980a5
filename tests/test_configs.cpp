// Every file in configs/ runs: each training config for one step per stage (real-data configs on
// fixtures written in their data set's on-disk format), each experiment spec for one step per
// stage on a handful of samples. A config that drifted from the code fails here, not in a user's
// hands.
#include <facegan/core/error.hpp>
#include <facegan/data/synthetic_faces.hpp>
#include <facegan/experiment/experiment.hpp>
#include <facegan/train/checkpoint.hpp>
#include <facegan/train/pipeline.hpp>

#include <catch2/catch.hpp>

#include "fixtures.hpp"
#include "test_util.hpp"

#include <filesystem>
#include <set>
#include <sstream>

using namespace facegan;
namespace fs = std::filesystem;

namespace {

const fs::path kConfigs = fs::path(FACEGAN_SOURCE_DIR) / "configs";

/// Folders in the formats of the real data sets, written once per test process.
struct Fixtures {
  fs::path root;
  Fixtures() : root(testing::fresh_dir("config_fixtures")) {
    testing::make_ck(root / "ck_plus");
    const fs::path oulu = root / "oulu_casia" / "OriginalImg" / "VL" / "Strong";
    testing::make_oulu_sequence(oulu, "P001", "Happiness", 4, 100);
    testing::make_oulu_sequence(oulu, "P002", "Anger", 4, 20);
    testing::make_celeba(root / "celeba");
    for (int id = 0; id < 3; ++id) {
      for (int k = 0; k < 2; ++k) {
        testing::write_image_file(root / "image_folder" / ("id" + std::to_string(id)) / (std::to_string(k) + ".png"),
                                  40 * id + 10 * k, 20, 20);
      }
    }
    // MT with landmarks: rendered faces, their parsing maps and 68 points.
    const data::SyntheticFaces r(data::SyntheticFacesOptions().size(32));
    for (int i = 0; i < 4; ++i) {
      const std::string half = i < 2 ? "makeup" : "non-makeup", name = "f" + std::to_string(i);
      const data::RenderedFace f = r.render(r.sample_factors(static_cast<uint64_t>(i)));
      for (const char* sub : {"images", "segs", "landmarks"}) fs::create_directories(root / "mt" / sub / half);
      REQUIRE(cv::imwrite((root / "mt" / "images" / half / (name + ".png")).string(), f.image));
      REQUIRE(cv::imwrite((root / "mt" / "segs" / half / (name + ".png")).string(), cv::Mat(32, 32, CV_8U, cv::Scalar(4))));
      std::ofstream out(root / "mt" / "landmarks" / half / (name + ".pts"));
      out << "version: 1\nn_points: 68\n{\n";
      for (const auto& p : f.landmarks) out << p.x << " " << p.y << "\n";
      out << "}\n";
    }
  }
  std::string for_type(const std::string& type) const {
    if (type == "ck_plus") return (root / "ck_plus").string();
    if (type == "oulu_casia") return (root / "oulu_casia").string();
    if (type == "celeba") return (root / "celeba").string();
    if (type == "image_folder") return (root / "image_folder").string();
    if (type == "mt_makeup" || type == "mt_makeup_pairs") return (root / "mt").string();
    return "";
  }
};

const Fixtures& fixtures() {
  static const Fixtures f;
  return f;
}

/// Points every data set with a "root" at its fixture, and keeps loaders small and on this thread.
void use_fixtures(json& node) {
  if (node.is_object()) {
    if (node.contains("type") && node.at("type").is_string() && node.contains("root")) {
      const std::string root = fixtures().for_type(node.at("type").get<std::string>());
      REQUIRE_FALSE(root.empty());
      node["root"] = root;
    }
    if (node.contains("batch_size") && node.contains("prefetch_threads")) {
      node["batch_size"] = std::min<int64_t>(node["batch_size"].get<int64_t>(), 2);
      node["prefetch_threads"] = 0;
    }
    for (auto& [key, value] : node.items()) use_fixtures(value);
  } else if (node.is_array()) {
    for (auto& value : node) use_fixtures(value);
  }
}

json one_step(const std::string& dir) {
  return {{"steps", 1},        {"device", "cpu"},     {"threads", 1},        {"progress", "none"},
          {"log_every", 1},    {"sample_every", 0},   {"eval_every", 0},     {"checkpoint_every", 0},
          {"resume", "none"},  {"out_dir", dir}};
}

std::vector<fs::path> json_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("every training config in configs/ runs one step per stage", "[configs]") {
  const std::vector<fs::path> files = json_files(kConfigs);
  REQUIRE(files.size() >= 10);
  for (const fs::path& file : files) {
    DYNAMIC_SECTION(file.filename().string()) {
      torch::manual_seed(0);
      json config = load_json_file(file.string());
      use_fixtures(config);
      const std::string dir = testing::fresh_dir("config_" + file.stem().string());
      std::ostringstream log;
      if (train::is_pipeline(config)) {
        config["trainer"]["out_dir"] = dir;
        for (auto& stage : config["stages"]) {
          json t = one_step("");
          t.erase("out_dir");
          if (!stage.contains("trainer")) stage["trainer"] = json::object();
          stage["trainer"].merge_patch(t);
        }
        train::PipelineOptions po;
        po.progress = &log;
        const train::PipelineRun run = train::run_pipeline(config, po);
        CHECK(run.status == train::RunStatus::kCompleted);
        for (const auto& s : run.stages) CHECK(fs::exists(s.checkpoint));
      } else {
        config["trainer"].merge_patch(one_step(dir));
        auto trainer = train::Trainer::from_config(config);
        trainer->set_progress_stream(log);
        const train::TrainResult r = trainer->fit();
        CHECK(r.status == train::RunStatus::kCompleted);
        CHECK(fs::exists(r.checkpoint));
      }
      fs::remove_all(dir);
    }
  }
}

TEST_CASE("every experiment spec in configs/experiments/ runs on a few samples", "[configs]") {
  const std::vector<fs::path> files = json_files(kConfigs / "experiments");
  REQUIRE(files.size() >= 3);
  for (const fs::path& file : files) {
    DYNAMIC_SECTION(file.filename().string()) {
      torch::manual_seed(0);
      json raw = load_json_file(file.string());
      // A handful of samples, one step per stage, one seed.
      for (const char* key : {"train", "pool"}) {
        if (raw["data"].contains(key)) raw["data"][key]["num_samples"] = 24;
      }
      for (const char* key : {"held_out", "selection"}) {
        if (raw["data"].contains(key)) raw["data"][key]["num_samples"] = 6;
      }
      raw["seeds"] = json::array({raw["seeds"][0]});
      if (raw.contains("scorers")) {
        for (auto& scorer : raw["scorers"]) scorer["faces"] = 64, scorer["steps"] = 1;
      }
      experiment::ExperimentSpec spec = experiment::parse_spec(raw, file.string());
      experiment::RunOptions options;
      // One step for every stage of every variant (a variant may bring stages of its own).
      std::set<std::string> stages;
      for (const auto& v : spec.variants) {
        json cfg = spec.base;
        for (auto it = v.set.begin(); it != v.set.end(); ++it) set_json_path(cfg, it.key(), it.value());
        for (const auto& name : train::pipeline_stage_names(cfg)) stages.insert(name);
      }
      for (const auto& name : stages) {
        options.set.push_back("stages." + name + ".trainer.steps=1");
        options.set.push_back("stages." + name + ".trainer.threads=1");
      }
      for (const std::string& stage : train::pipeline_stage_names(spec.base)) {
        for (const auto& s : spec.base.at("stages")) {
          // A stage's own data (the open-set identity warm start): a few samples too.
          if (s.value("name", "") == stage && s.contains("data") && s.at("data").contains("train")) {
            options.set.push_back("stages." + stage + ".data.train.num_samples=24");
            options.set.push_back("stages." + stage + ".data.loader.batch_size=4");
          }
        }
      }
      options.set.push_back("data.loader.batch_size=4");
      options.out_dir = testing::fresh_dir("spec_" + file.stem().string());
      std::ostringstream log;
      options.progress = &log;
      experiment::validate_experiment(spec, options);
      const experiment::ExperimentResult result = experiment::run_experiment(spec, options);
      INFO(log.str());
      CHECK(!result.tables.empty());
      for (const auto& v : spec.variants) CHECK(result.cells.count(v.name) == 1);
      fs::remove_all(options.out_dir);
    }
  }
}
