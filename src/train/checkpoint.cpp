#include <facegan/core/error.hpp>
#include <facegan/core/files.hpp>
#include <facegan/train/checkpoint.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;

namespace facegan::train {

OpenedCheckpoint open_checkpoint(const std::string& path, const torch::Device& device) {
  if (!fs::is_regular_file(path)) throw CheckpointError("checkpoint " + path + " does not exist");
  OpenedCheckpoint out;
  try {
    out.archive.load_from(path, device);
    c10::IValue meta_value;
    out.archive.read("meta", meta_value);
    out.meta = json::parse(meta_value.toStringRef());
  } catch (const std::exception& e) {
    throw CheckpointError("cannot read checkpoint " + path + ": " + error_message(e));
  }
  return out;
}

json checkpoint_task_json(const std::string& path, const std::string& type) {
  json task = open_checkpoint(path).meta.value("task", json::object());
  const std::string written_by = task.value("type", "");
  if (written_by != type) {
    throw CheckpointError("checkpoint " + path + " was written by task '" + written_by + "', not '" + type + "'");
  }
  task.erase("type");
  return task;
}

json load_checkpoint_network(const std::string& path, const std::string& name, torch::nn::Module& module,
                             bool prefer_ema) {
  torch::Device device = torch::kCPU;
  for (const auto& p : module.parameters()) {
    device = p.device();
    break;
  }
  OpenedCheckpoint checkpoint = open_checkpoint(path, device);
  try {
    torch::serialize::InputArchive emas, nets, archive;
    bool found = prefer_ema && checkpoint.archive.try_read("ema", emas) && emas.try_read(name, archive);
    if (!found) {
      checkpoint.archive.read("networks", nets);
      if (!nets.try_read(name, archive)) throw CheckpointError("checkpoint " + path + " has no network '" + name + "'");
    }
    module.load(archive);
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError("checkpoint " + path + ": cannot load network '" + name + "': " + error_message(e));
  }
  return checkpoint.meta;
}

void save_network_checkpoint(const std::string& path,
                             const std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>& networks,
                             const json& meta) {
  json full = {{"format", kCheckpointFormat}, {"step", 0}, {"networks", json::array()}, {"optimizers", json::array()},
               {"ema", json::array()}};
  full.merge_patch(meta);
  if (!full.contains("task")) throw CheckpointError("cannot write " + path + ": the meta has no \"task\"");
  full["networks"] = json::array();
  torch::serialize::OutputArchive root, nets;
  for (const auto& [name, net] : networks) {
    torch::serialize::OutputArchive a;
    net->save(a);
    nets.write(name, a);
    full["networks"].push_back(name);
  }
  root.write("networks", nets);
  root.write("meta", c10::IValue(full.dump()));
  std::ostringstream bytes;
  root.save_to(bytes);
  write_file_atomic(path, bytes.str());
}

std::string checkpoint_name(int64_t step) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "ckpt_%09lld.pt", static_cast<long long>(step));
  return buf;
}

std::vector<CheckpointFile> list_checkpoints(const std::string& dir) {
  std::vector<CheckpointFile> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  static const std::regex pattern(R"(ckpt_(\d+)\.pt)");
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::smatch m;
    if (entry.is_regular_file() && std::regex_match(name, m, pattern)) {
      out.push_back({std::stoll(m[1].str()), entry.path().string()});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  return out;
}

std::optional<CheckpointFile> latest_checkpoint(const std::string& dir) {
  auto all = list_checkpoints(dir);
  if (all.empty()) return std::nullopt;
  return all.back();
}

std::vector<std::string> prune_checkpoints(const std::string& dir, int64_t keep) {
  std::vector<std::string> removed;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return removed;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".tmp") {
      fs::remove(entry.path(), ec);
      removed.push_back(entry.path().string());
    }
  }
  if (keep <= 0) return removed;
  const auto all = list_checkpoints(dir);
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) {
    fs::remove(all[i].path, ec);
    removed.push_back(all[i].path);
  }
  return removed;
}

}  // namespace facegan::train
