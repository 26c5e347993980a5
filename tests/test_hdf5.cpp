#include <facegan/data/dataset.hpp>
#include <facegan/data/hdf5.hpp>
#include <facegan/data/image.hpp>

#include <catch2/catch.hpp>
#include <opencv2/core.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

#include <unistd.h>

using namespace facegan;
using namespace facegan::data;
namespace fs = std::filesystem;

namespace {

/// An in-memory data set whose sample `bad_index_` cannot be read, as a corrupt file would.
class MemoryDataset : public InMemoryDataset {
 public:
  explicit MemoryDataset(std::vector<Sample> samples, std::string type = "memory_test")
      : InMemoryDataset(std::move(samples), std::move(type)) {}
  Sample get(size_t index) const override {
    if (index == bad_index_) throw DataError("cannot decode image file: /data/broken_" + std::to_string(index) + ".png");
    return InMemoryDataset::get(index);
  }
  size_t bad_index_ = static_cast<size_t>(-1);
};

/// Faces-like samples: an 8-bit image (through image_to_tensor), 68 landmarks, a mask, labels,
/// a flag, a half-precision and a double tensor, and nested meta.
std::vector<Sample> make_samples(int n, int64_t h = 12, int64_t w = 20) {
  torch::manual_seed(7);
  cv::RNG cv_rng(11);
  std::vector<Sample> out;
  for (int i = 0; i < n; ++i) {
    cv::Mat bgr(static_cast<int>(h), static_cast<int>(w), CV_8UC3);
    cv_rng.fill(bgr, cv::RNG::UNIFORM, 0, 256);
    Sample s;
    s.tensors["image"] = image_to_tensor(bgr);
    s.tensors["landmarks"] = torch::rand({68, 2}) * static_cast<double>(w);
    s.tensors["mask"] = torch::randint(0, 10, {h, w}, torch::kUInt8);
    s.tensors["identity"] = torch::tensor(int64_t{100 + i});
    s.tensors["expression"] = torch::tensor(int64_t{i % 7 - 1});
    s.tensors["flag"] = torch::tensor(i % 2 == 0);
    s.tensors["half"] = torch::randn({4}).to(torch::kHalf);
    s.tensors["depth"] = torch::randn({2, 3}, torch::kFloat64);
    s.meta = json{{"file", "faces/img_" + std::to_string(i) + ".png"}, {"index", i}, {"factors", {{"pose", i * 0.5}}}};
    out.push_back(std::move(s));
  }
  return out;
}

/// A fresh folder for one test case (the process id keeps concurrent runs apart), removed after.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(fs::temp_directory_path() / ("facegan_test_hdf5_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path operator/(const std::string& file) const { return path_ / file; }

 private:
  fs::path path_;
};

void require_same(const Sample& a, const Sample& b) {
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const auto& [key, t] : a.tensors) {
    INFO("key " << key);
    const torch::Tensor& u = b.at(key);
    CHECK(t.scalar_type() == u.scalar_type());
    CHECK(t.sizes() == u.sizes());
    CHECK(torch::equal(t, u));
  }
  CHECK(a.meta == b.meta);
}

}  // namespace

TEST_CASE("hdf5 pack round trip is exact for every dtype and the meta", "[data]") {
  const TempDir dir("roundtrip");
  MemoryDataset source(make_samples(9));
  for (int64_t gzip : {0, 1}) {
    DYNAMIC_SECTION("gzip " << gzip) {
      const std::string path = (dir / ("faces_" + std::to_string(gzip) + ".h5")).string();
      std::vector<std::pair<size_t, size_t>> calls;
      PackOptions options;
      options.gzip_level(gzip).progress_every(4);
      options.progress = [&](size_t done, size_t total) { calls.emplace_back(done, total); };
      pack(source, path, options);

      CHECK(fs::exists(path));
      CHECK_FALSE(fs::exists(path + ".tmp"));
      CHECK(calls == std::vector<std::pair<size_t, size_t>>{{4, 9}, {8, 9}, {9, 9}});

      Hdf5Dataset packed(Hdf5DatasetOptions().path(path));
      REQUIRE(packed.size() == 9);
      CHECK(packed.type() == "hdf5");
      CHECK(packed.keys() ==
            std::vector<std::string>{"depth", "expression", "flag", "half", "identity", "image", "landmarks", "mask"});
      const json& info = packed.info();
      CHECK(info.at("facegan_layout_version") == kHdf5LayoutVersion);
      CHECK(info.at("source_type") == "memory_test");
      CHECK(info.at("count") == 9);
      CHECK(info.at("key_info").at("image").at("encoding") == "uint8_image");
      CHECK(info.at("key_info").at("image").at("dtype") == "float32");
      CHECK(info.at("key_info").at("image").at("shape") == json{3, 12, 20});
      CHECK(info.at("key_info").at("flag").at("dtype") == "bool");
      CHECK(info.at("key_info").at("landmarks").at("encoding") == "none");
      for (size_t i = 0; i < source.size(); ++i) {
        INFO("sample " << i);
        require_same(source.get(i), packed.get(i));
      }
      CHECK_THROWS_WITH(packed.get(9), Catch::Contains(path) && Catch::Contains("out of range"));
    }
  }
}

TEST_CASE("hdf5 data set through the registry, with a subset of keys", "[data]") {
  const TempDir dir("registry");
  const std::string path = (dir / "faces.h5").string();
  MemoryDataset source(make_samples(3));
  pack(source, path);
  auto ds = create_dataset(json{{"type", "hdf5"}, {"path", path}, {"keys", {"identity", "image"}}});
  REQUIRE(ds->size() == 3);
  Sample s = ds->get(2);
  CHECK(s.tensors.size() == 2);
  CHECK(torch::equal(s.at("image"), source.get(2).at("image")));
  CHECK(s.at("identity").item<int64_t>() == 102);
  CHECK(s.meta == source.get(2).meta);
  CHECK_THROWS_WITH(create_dataset(json{{"type", "hdf5"}, {"path", path}, {"colour", 1}}),
                    Catch::Contains("colour"));
}

TEST_CASE("hdf5 errors name the file and the key", "[data]") {
  const TempDir dir("errors");
  const std::string good = (dir / "good.h5").string();
  pack(MemoryDataset(make_samples(4)), good);

  const std::string missing = (dir / "nowhere.h5").string();
  CHECK_THROWS_AS(Hdf5Dataset(Hdf5DatasetOptions().path(missing)), DataError);
  CHECK_THROWS_WITH(Hdf5Dataset(Hdf5DatasetOptions().path(missing)), Catch::Contains(missing));

  const std::string text = (dir / "notes.h5").string();
  std::ofstream(text) << "this is not an HDF5 file\n";
  CHECK_THROWS_WITH(Hdf5Dataset(Hdf5DatasetOptions().path(text)),
                    Catch::Contains("not an HDF5 file") && Catch::Contains(text));

  // A file cut short: the signature is there, the rest is not.
  const std::string cut = (dir / "cut.h5").string();
  {
    std::ifstream in(good, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  }
  CHECK_THROWS_AS(Hdf5Dataset(Hdf5DatasetOptions().path(cut)), DataError);
  CHECK_THROWS_WITH(Hdf5Dataset(Hdf5DatasetOptions().path(cut)), Catch::Contains(cut));

  // Another layout version, and no version at all: patch the root attribute in a copy. HDF5's
  // default (oldest) format has no checksums on object headers, and its v1 attribute message pads
  // name, type and space to 8 bytes, so a scalar int64's value directly follows the 8 bytes of its
  // scalar dataspace (01 00 00 00 00 00 00 00).
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  const size_t name_at = bytes.find(std::string("facegan_layout_version") + '\0');
  REQUIRE(name_at != std::string::npos);
  const std::string space_and_one("\x01\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0", 16);
  const size_t value_at = bytes.find(space_and_one, name_at);
  REQUIRE(value_at != std::string::npos);
  REQUIRE(value_at - name_at < 96);
  std::string v2 = bytes;
  v2[value_at + 8] = '\x02';
  const std::string future = (dir / "future.h5").string();
  std::ofstream(future, std::ios::binary) << v2;
  CHECK_THROWS_AS(Hdf5Dataset(Hdf5DatasetOptions().path(future)), DataError);
  CHECK_THROWS_WITH(Hdf5Dataset(Hdf5DatasetOptions().path(future)),
                    Catch::Contains(future) && Catch::Contains("layout version 2"));
  std::string unversioned = bytes;
  unversioned[name_at] = 'x';
  const std::string foreign = (dir / "foreign.h5").string();
  std::ofstream(foreign, std::ios::binary) << unversioned;
  CHECK_THROWS_WITH(Hdf5Dataset(Hdf5DatasetOptions().path(foreign)),
                    Catch::Contains(foreign) && Catch::Contains("not a facegan data file"));

  CHECK_THROWS_AS(Hdf5Dataset(Hdf5DatasetOptions().path(good).keys({"image", "nose_length"})), DataError);
  CHECK_THROWS_WITH(Hdf5Dataset(Hdf5DatasetOptions().path(good).keys({"image", "nose_length"})),
                    Catch::Contains("nose_length") && Catch::Contains(good) && Catch::Contains("landmarks"));
  CHECK_THROWS_AS(create_dataset(json{{"type", "hdf5"}}), ConfigError);
}

TEST_CASE("hdf5 pack failures leave neither the file nor the .tmp", "[data]") {
  const TempDir dir("pack_errors");
  const std::string path = (dir / "faces.h5").string();

  auto samples = make_samples(5);
  samples[3].tensors["mask"] = torch::zeros({4, 4}, torch::kUInt8);
  CHECK_THROWS_WITH(pack(MemoryDataset(samples), path),
                    Catch::Contains(path) && Catch::Contains("'mask'") && Catch::Contains("sample 3"));
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(fs::exists(path + ".tmp"));

  MemoryDataset broken(make_samples(5));
  broken.bad_index_ = 2;
  CHECK_THROWS_AS(pack(broken, path), DataError);
  CHECK_THROWS_WITH(pack(broken, path),
                    Catch::Contains(path) && Catch::Contains("sample 2") && Catch::Contains("broken_2.png"));
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(fs::exists(path + ".tmp"));

  // An explicitly requested key that a sample lacks is an error naming it.
  auto partial = make_samples(3);
  partial[1].tensors.erase("landmarks");
  CHECK_THROWS_WITH(pack(MemoryDataset(partial), path, PackOptions().keys({"image", "landmarks"})),
                    Catch::Contains("'landmarks'") && Catch::Contains("sample 1"));
  CHECK_FALSE(fs::exists(path + ".tmp"));
  // Without explicit keys it is left out: only keys present in every sample are stored.
  pack(MemoryDataset(partial), path);
  Hdf5Dataset packed(Hdf5DatasetOptions().path(path));
  CHECK(std::find(packed.keys().begin(), packed.keys().end(), "landmarks") == packed.keys().end());
  CHECK(torch::equal(packed.get(2).at("image"), partial[2].at("image")));
  CHECK(torch::equal(packed.get(1).at("mask"), partial[1].at("mask")));

  CHECK_THROWS_AS(pack(MemoryDataset({}), path), DataError);
  CHECK_THROWS_AS(pack(MemoryDataset(make_samples(1)), path, PackOptions().gzip_level(12)), ConfigError);
}

TEST_CASE("hdf5 float images: quantised to 8 bits by default, lossless on request", "[data]") {
  const TempDir dir("float_images");
  torch::manual_seed(3);
  std::vector<Sample> samples(2);
  for (auto& s : samples) s.tensors["render"] = torch::rand({3, 6, 5}) * 2.2 - 1.1;  // a little out of range
  MemoryDataset source(samples);

  const std::string quantised = (dir / "q.h5").string();
  pack(source, quantised);
  Hdf5Dataset q(Hdf5DatasetOptions().path(quantised));
  CHECK(q.info().at("key_info").at("render").at("encoding") == "uint8_image");
  torch::Tensor expected = image_to_tensor(tensor_to_image(samples[1].at("render")));
  CHECK(torch::equal(q.get(1).at("render"), expected));
  CHECK(q.get(1).at("render").abs().max().item<float>() <= 1.0f);

  const std::string lossless = (dir / "f.h5").string();
  pack(source, lossless, PackOptions().encode_images(false));
  Hdf5Dataset f(Hdf5DatasetOptions().path(lossless));
  CHECK(torch::equal(f.get(1).at("render"), samples[1].at("render")));

  CHECK_THROWS_WITH(pack(source, lossless, PackOptions().image_keys({"depth"})), Catch::Contains("depth"));
}

TEST_CASE("hdf5 get is safe from several threads at once", "[data]") {
  const TempDir dir("threads");
  const std::string path = (dir / "faces.h5").string();
  MemoryDataset source(make_samples(16));
  pack(source, path, PackOptions().gzip_level(1));
  Hdf5Dataset packed(Hdf5DatasetOptions().path(path));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (size_t i = 0; i < packed.size(); ++i) {
          const size_t index = (i * 5 + static_cast<size_t>(t)) % packed.size();
          Sample a = packed.get(index);
          Sample b = source.get(index);
          for (const auto& [key, x] : b.tensors) mismatches[static_cast<size_t>(t)] += torch::equal(x, a.at(key)) ? 0 : 1;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}
