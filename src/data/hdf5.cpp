#include <facegan/core/error.hpp>
#include <facegan/data/hdf5.hpp>

#include "builtin_datasets.hpp"

#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <cstring>
#include <mutex>
#include <set>
#include <sstream>

namespace facegan::data {
namespace {

// ---------------------------------------------------------------------------------------------
// HDF5 plumbing. The library keeps global state (and Debian's serial build may or may not be
// thread-safe), so every HDF5 call in this file runs under one process-wide lock. It is recursive
// because handles close in destructors, which may run while an error unwinds a locked section.

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex m;
  return m;
}

/// Holds the HDF5 lock and silences HDF5's automatic error printing for this thread (the error
/// stack is per thread in thread-safe builds); errors are reported through our exceptions instead.
class Hdf5Lock {
 public:
  Hdf5Lock() : lock_(hdf5_mutex()) { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

 private:
  std::lock_guard<std::recursive_mutex> lock_;
};

herr_t take_innermost(unsigned n, const H5E_error2_t* err, void* data) {
  if (n == 0 && err != nullptr && err->desc != nullptr) *static_cast<std::string*>(data) = err->desc;
  return 0;
}

/// The innermost message of this thread's HDF5 error stack (then cleared), for our messages.
std::string hdf5_detail() {
  std::string out;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_innermost, &out);
  H5Eclear2(H5E_DEFAULT);
  return out.empty() ? std::string() : " (HDF5: " + out + ")";
}

/// An HDF5 identifier closed with the matching H5?close on destruction.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      closer_ = other.closer_;
      other.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Closes now; returns false when HDF5 reports an error (a failed flush on a file).
  bool reset() {
    bool ok = true;
    if (id_ >= 0 && closer_ != nullptr) {
      Hdf5Lock lock;
      ok = closer_(id_) >= 0;
    }
    id_ = -1;
    return ok;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

Handle file_h(hid_t id) { return Handle(id, H5Fclose); }
Handle dataset_h(hid_t id) { return Handle(id, H5Dclose); }
Handle space_h(hid_t id) { return Handle(id, H5Sclose); }
Handle type_h(hid_t id) { return Handle(id, H5Tclose); }
Handle attr_h(hid_t id) { return Handle(id, H5Aclose); }
Handle plist_h(hid_t id) { return Handle(id, H5Pclose); }

/// A variable-length UTF-8 string type (what h5py writes and reads as `str`).
Handle vlen_string_type() {
  Handle t = type_h(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_cset(t.get(), H5T_CSET_UTF8);
  return t;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

// ---------------------------------------------------------------------------------------------
// How each torch dtype is stored.

constexpr const char* kEncodingNone = "none";          // stored in its own dtype
constexpr const char* kEncodingCast = "cast";          // stored in a wider HDF5 type, cast back exactly
constexpr const char* kEncodingImage = "uint8_image";  // float [3, H, W] in [-1, 1] -> uint8 [H, W, 3]

struct DtypeInfo {
  torch::ScalarType dtype;
  const char* name;
  torch::ScalarType stored;  // the dtype of the HDF5 data set
};

const std::vector<DtypeInfo>& dtype_table() {
  static const std::vector<DtypeInfo> table{
      {torch::kFloat32, "float32", torch::kFloat32}, {torch::kFloat64, "float64", torch::kFloat64},
      {torch::kFloat16, "float16", torch::kFloat32}, {torch::kBFloat16, "bfloat16", torch::kFloat32},
      {torch::kUInt8, "uint8", torch::kUInt8},       {torch::kInt8, "int8", torch::kInt8},
      {torch::kInt16, "int16", torch::kInt16},       {torch::kInt32, "int32", torch::kInt32},
      {torch::kInt64, "int64", torch::kInt64},       {torch::kBool, "bool", torch::kUInt8},
  };
  return table;
}

const DtypeInfo* find_dtype(torch::ScalarType dtype) {
  for (const auto& d : dtype_table()) {
    if (d.dtype == dtype) return &d;
  }
  return nullptr;
}

const DtypeInfo* find_dtype(const std::string& name) {
  for (const auto& d : dtype_table()) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

hid_t native_type(torch::ScalarType stored) {
  switch (stored) {
    case torch::kFloat32: return H5T_NATIVE_FLOAT;
    case torch::kFloat64: return H5T_NATIVE_DOUBLE;
    case torch::kUInt8: return H5T_NATIVE_UINT8;
    case torch::kInt8: return H5T_NATIVE_INT8;
    case torch::kInt16: return H5T_NATIVE_INT16;
    case torch::kInt32: return H5T_NATIVE_INT32;
    case torch::kInt64: return H5T_NATIVE_INT64;
    default: throw Error(std::string("hdf5: no HDF5 type for ") + c10::toString(stored));
  }
}

/// One stored key: how a sample's tensor maps onto the file.
struct KeySpec {
  std::string name;
  const DtypeInfo* dtype = nullptr;
  std::string encoding;
  std::vector<int64_t> shape;         // per-sample shape as the Sample holds it
  std::vector<int64_t> stored_shape;  // per-sample shape in the file
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : stored_shape) n *= d;
    return n;
  }
  json to_json() const { return json{{"dtype", dtype->name}, {"encoding", encoding}, {"shape", shape}}; }
};

// ---------------------------------------------------------------------------------------------
// Attributes.

void write_string_attr(hid_t obj, const std::string& name, const std::string& value) {
  Hdf5Lock lock;
  Handle type = vlen_string_type();
  Handle space = space_h(H5Screate(H5S_SCALAR));
  Handle attr = attr_h(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  const char* ptr = value.c_str();
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), &ptr) < 0) {
    throw DataError("cannot write attribute '" + name + "'" + hdf5_detail());
  }
}

void write_string_array_attr(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  Hdf5Lock lock;
  Handle type = vlen_string_type();
  const hsize_t dims[1] = {values.size()};
  Handle space = space_h(H5Screate_simple(1, dims, nullptr));
  Handle attr = attr_h(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), ptrs.data()) < 0) {
    throw DataError("cannot write attribute '" + name + "'" + hdf5_detail());
  }
}

void write_int_attr(hid_t obj, const std::string& name, int64_t value) {
  Hdf5Lock lock;
  Handle space = space_h(H5Screate(H5S_SCALAR));
  Handle attr = attr_h(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_INT64, &value) < 0) {
    throw DataError("cannot write attribute '" + name + "'" + hdf5_detail());
  }
}

bool has_attr(hid_t obj, const std::string& name) {
  Hdf5Lock lock;
  return H5Aexists(obj, name.c_str()) > 0;
}

int64_t read_int_attr(hid_t obj, const std::string& name) {
  Hdf5Lock lock;
  Handle attr = attr_h(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  if (!attr.valid()) throw DataError("no attribute '" + name + "'" + hdf5_detail());
  Handle type = type_h(H5Aget_type(attr.get()));
  if (H5Tget_class(type.get()) != H5T_INTEGER) throw DataError("attribute '" + name + "' is not an integer");
  int64_t value = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_INT64, &value) < 0) {
    throw DataError("cannot read attribute '" + name + "'" + hdf5_detail());
  }
  return value;
}

/// A scalar string attribute, variable- or fixed-length (h5py may write either).
std::string read_string_attr(hid_t obj, const std::string& name) {
  Hdf5Lock lock;
  Handle attr = attr_h(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  if (!attr.valid()) throw DataError("no attribute '" + name + "'" + hdf5_detail());
  Handle type = type_h(H5Aget_type(attr.get()));
  if (H5Tget_class(type.get()) != H5T_STRING) throw DataError("attribute '" + name + "' is not a string");
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle mem = vlen_string_type();
    char* ptr = nullptr;
    if (H5Aread(attr.get(), mem.get(), &ptr) < 0) {
      throw DataError("cannot read attribute '" + name + "'" + hdf5_detail());
    }
    std::string out = ptr != nullptr ? ptr : "";
    H5free_memory(ptr);
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  std::string out(size, '\0');
  if (H5Aread(attr.get(), type.get(), out.data()) < 0) {
    throw DataError("cannot read attribute '" + name + "'" + hdf5_detail());
  }
  out.resize(std::strlen(out.c_str()));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// Samples per chunk: one for images and anything of 16 KiB or more, else enough small rows
/// (labels, landmarks) to make ~16 KiB, so that the chunk index stays small.
hsize_t rows_per_chunk(const KeySpec& spec, size_t count) {
  if (spec.encoding == kEncodingImage) return 1;
  constexpr int64_t kTargetBytes = 16 * 1024;
  const int64_t row_bytes = std::max<int64_t>(1, spec.numel() * c10::elementSize(spec.dtype->stored));
  const int64_t rows = std::max<int64_t>(1, kTargetBytes / row_bytes);
  return static_cast<hsize_t>(std::min<int64_t>(rows, static_cast<int64_t>(count)));
}

/// The tensor as it is stored: encoded, cast, contiguous, on the CPU.
torch::Tensor encode(const KeySpec& spec, const torch::Tensor& t) {
  torch::Tensor x = t.detach().to(torch::kCPU);
  if (spec.encoding == kEncodingImage) {
    // Exactly tensor_to_image's arithmetic, so read-back equals image_to_tensor of the 8-bit image.
    return x.to(torch::kFloat32).add(1.0).mul(127.5).round().clamp(0, 255).to(torch::kUInt8).permute({1, 2, 0})
        .contiguous();
  }
  return x.to(spec.dtype->stored).contiguous();
}

class Packer {
 public:
  Packer(const Dataset& dataset, std::string path, const PackOptions& options)
      : dataset_(dataset), path_(std::move(path)), tmp_(path_ + ".tmp"), options_(options),
        count_(dataset.size()) {}

  void run() {
    if (count_ == 0) throw DataError("cannot pack an empty data set (type '" + dataset_.type() + "') into " + path_);
    if (options_.gzip_level() < 0 || options_.gzip_level() > 9) {
      throw ConfigError("pack: gzip_level must be 0-9, got " + std::to_string(options_.gzip_level()));
    }
    if (options_.progress_every() <= 0) {
      throw ConfigError("pack: progress_every must be positive, got " + std::to_string(options_.progress_every()));
    }
    std::error_code ec;
    const auto parent = std::filesystem::path(path_).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) throw DataError("cannot create folder " + parent.string() + " for " + path_ + ": " + ec.message());

    Sample first = load(0);
    plan(first);
    try {
      write_all(std::move(first));
    } catch (...) {
      close_all();
      std::filesystem::remove(tmp_, ec);
      throw;
    }
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) {
      std::filesystem::remove(tmp_, ec);
      throw DataError("cannot rename " + tmp_ + " to " + path_ + ": " + ec.message());
    }
  }

 private:
  Sample load(size_t index) const {
    try {
      return dataset_.get(index);
    } catch (const DataError& e) {
      throw DataError("packing " + path_ + ": sample " + std::to_string(index) + ": " + e.what());
    }
  }

  std::string where(const std::string& key) const { return "packing " + path_ + ", key '" + key + "'"; }

  /// Chooses keys, dtypes and encodings from the first sample.
  void plan(const Sample& first) {
    std::vector<std::string> keys = options_.keys();
    explicit_keys_ = !keys.empty();
    if (keys.empty()) {
      for (const auto& kv : first.tensors) keys.push_back(kv.first);
    }
    if (keys.empty()) throw DataError("packing " + path_ + ": sample 0 has no tensors");
    std::set<std::string> image_keys(options_.image_keys().begin(), options_.image_keys().end());
    for (const auto& k : image_keys) {
      if (std::find(keys.begin(), keys.end(), k) == keys.end() && first.tensors.count(k) == 0) {
        throw ConfigError("pack: image key '" + k + "' is not a tensor of sample 0");
      }
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (const auto& key : keys) {
      if (!is_valid_name(key)) throw DataError(where(key) + ": key names may not contain '/' or start with '.'");
      if (key == "meta") throw DataError(where(key) + ": 'meta' is reserved for the samples' meta JSON");
      const torch::Tensor& t = first.at(key);
      KeySpec spec;
      spec.name = key;
      spec.dtype = find_dtype(t.scalar_type());
      if (spec.dtype == nullptr) {
        throw DataError(where(key) + ": dtype " + std::string(c10::toString(t.scalar_type())) + " cannot be stored");
      }
      spec.shape = t.sizes().vec();
      const bool image_shaped = t.scalar_type() == torch::kFloat32 && t.dim() == 3 && t.size(0) == 3;
      const bool is_image = options_.encode_images() &&
                            (image_keys.empty() ? image_shaped : image_keys.count(key) != 0);
      if (is_image && !image_shaped) {
        throw ConfigError(where(key) + ": an image key must be float32 [3, H, W], got " + std::string(
                              c10::toString(t.scalar_type())) + " " + shape_text(spec.shape));
      }
      if (is_image) {
        spec.encoding = kEncodingImage;
        spec.stored_shape = {t.size(1), t.size(2), 3};
        spec.dtype = find_dtype(torch::kUInt8);
      } else {
        spec.encoding = spec.dtype->stored == spec.dtype->dtype ? kEncodingNone : kEncodingCast;
        spec.stored_shape = spec.shape;
      }
      specs_.push_back(spec);
    }
  }

  static bool is_valid_name(const std::string& key) {
    return !key.empty() && key.find('/') == std::string::npos && key.front() != '.';
  }

  void create_file() {
    Hdf5Lock lock;
    file_ = file_h(H5Fcreate(tmp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    if (!file_.valid()) throw DataError("cannot create HDF5 file " + tmp_ + hdf5_detail());
    for (const auto& spec : specs_) {
      std::vector<hsize_t> dims{count_};
      for (auto d : spec.stored_shape) dims.push_back(static_cast<hsize_t>(d));
      Handle space = space_h(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
      Handle dcpl = plist_h(H5Pcreate(H5P_DATASET_CREATE));
      if (spec.numel() > 0) {
        std::vector<hsize_t> chunk = dims;
        chunk[0] = rows_per_chunk(spec, count_);
        H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
        if (options_.gzip_level() > 0) {
          H5Pset_shuffle(dcpl.get());
          H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options_.gzip_level()));
        }
      }
      Handle ds = dataset_h(H5Dcreate2(file_.get(), spec.name.c_str(), native_type(spec.dtype->stored),
                                       space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
      if (!ds.valid()) throw DataError(where(spec.name) + ": cannot create the data set" + hdf5_detail());
      const std::string original = spec.encoding == kEncodingImage ? "float32" : spec.dtype->name;
      write_string_attr(ds.get(), "dtype", original);
      write_string_attr(ds.get(), "encoding", spec.encoding);
      datasets_.push_back(std::move(ds));
    }
  }

  void write_block(size_t first_index, std::vector<std::vector<torch::Tensor>>& block) {
    Hdf5Lock lock;
    for (size_t k = 0; k < specs_.size(); ++k) {
      if (block[k].empty()) continue;
      const KeySpec& spec = specs_[k];
      torch::Tensor rows = torch::stack(block[k]).contiguous();
      std::vector<hsize_t> start{first_index}, counts{block[k].size()};
      for (auto d : spec.stored_shape) {
        start.push_back(0);
        counts.push_back(static_cast<hsize_t>(d));
      }
      Handle file_space = space_h(H5Dget_space(datasets_[k].get()));
      Handle mem_space = space_h(H5Screate_simple(static_cast<int>(counts.size()), counts.data(), nullptr));
      const bool ok = H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, counts.data(),
                                          nullptr) >= 0 &&
                      H5Dwrite(datasets_[k].get(), native_type(spec.dtype->stored), mem_space.get(), file_space.get(),
                               H5P_DEFAULT, rows.data_ptr()) >= 0;
      if (!ok) {
        throw DataError(where(spec.name) + ": cannot write samples " + std::to_string(first_index) + "-" +
                        std::to_string(first_index + block[k].size() - 1) + hdf5_detail());
      }
      block[k].clear();
    }
  }

  /// Drops a key that a later sample lacks (only when the keys were not named explicitly).
  void drop_key(size_t k) {
    Hdf5Lock lock;
    datasets_[k].reset();
    H5Ldelete(file_.get(), specs_[k].name.c_str(), H5P_DEFAULT);
    datasets_.erase(datasets_.begin() + static_cast<std::ptrdiff_t>(k));
    specs_.erase(specs_.begin() + static_cast<std::ptrdiff_t>(k));
  }

  void write_all(Sample first) {
    create_file();
    constexpr size_t kBlock = 64;
    std::vector<std::vector<torch::Tensor>> block(specs_.size());
    std::vector<std::string> metas;
    metas.reserve(count_);
    size_t block_start = 0;
    for (size_t i = 0; i < count_; ++i) {
      Sample sample = i == 0 ? std::move(first) : load(i);
      for (size_t k = 0; k < specs_.size();) {
        const KeySpec& spec = specs_[k];
        auto it = sample.tensors.find(spec.name);
        if (it == sample.tensors.end()) {
          if (explicit_keys_) {
            throw DataError(where(spec.name) + ": sample " + std::to_string(i) + " has no such tensor");
          }
          drop_key(k);
          block.erase(block.begin() + static_cast<std::ptrdiff_t>(k));
          continue;
        }
        const torch::Tensor& t = it->second;
        if (t.sizes().vec() != spec.shape) {
          throw DataError(where(spec.name) + ": sample " + std::to_string(i) + " has shape " +
                          shape_text(t.sizes().vec()) + " but sample 0 had " + shape_text(spec.shape));
        }
        const torch::ScalarType expected = spec.encoding == kEncodingImage ? torch::kFloat32 : spec.dtype->dtype;
        if (t.scalar_type() != expected) {
          throw DataError(where(spec.name) + ": sample " + std::to_string(i) + " has dtype " +
                          std::string(c10::toString(t.scalar_type())) + " but sample 0 had " +
                          std::string(c10::toString(expected)));
        }
        block[k].push_back(encode(spec, t));
        ++k;
      }
      metas.push_back(sample.meta.dump());
      if (i + 1 - block_start == kBlock || i + 1 == count_) {
        write_block(block_start, block);
        block_start = i + 1;
      }
      if (options_.progress && ((i + 1) % static_cast<size_t>(options_.progress_every()) == 0 || i + 1 == count_)) {
        options_.progress(i + 1, count_);
      }
    }
    if (specs_.empty()) throw DataError("packing " + path_ + ": no tensor key is present in every sample");
    write_meta(metas);
    write_root_attributes();
    close_all(true);
  }

  void write_meta(const std::vector<std::string>& metas) {
    Hdf5Lock lock;
    Handle type = vlen_string_type();
    const hsize_t dims[1] = {count_};
    Handle space = space_h(H5Screate_simple(1, dims, nullptr));
    Handle ds = dataset_h(
        H5Dcreate2(file_.get(), "meta", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    std::vector<const char*> ptrs;
    ptrs.reserve(metas.size());
    for (const auto& m : metas) ptrs.push_back(m.c_str());
    if (!ds.valid() || H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0) {
      throw DataError(where("meta") + ": cannot write" + hdf5_detail());
    }
  }

  void write_root_attributes() {
    const hid_t root = file_.get();
    json key_info = json::object();
    std::vector<std::string> names;
    for (const auto& spec : specs_) {
      json info = spec.to_json();
      if (spec.encoding == kEncodingImage) info["dtype"] = "float32";
      key_info[spec.name] = info;
      names.push_back(spec.name);
    }
    write_int_attr(root, "facegan_layout_version", kHdf5LayoutVersion);
    write_string_attr(root, "source_type", dataset_.type());
    write_int_attr(root, "count", static_cast<int64_t>(count_));
    write_string_array_attr(root, "keys", names);
    write_string_attr(root, "key_info", key_info.dump());
  }

  /// Closes every handle; with `check`, a failed file close (the final flush) is an error.
  void close_all(bool check = false) {
    Hdf5Lock lock;
    datasets_.clear();
    const bool ok = file_.reset();
    if (check && !ok) throw DataError("cannot finish writing " + tmp_ + hdf5_detail());
  }

  const Dataset& dataset_;
  std::string path_;
  std::string tmp_;
  const PackOptions& options_;
  size_t count_;
  bool explicit_keys_ = false;
  std::vector<KeySpec> specs_;
  Handle file_;
  std::vector<Handle> datasets_;
};

}  // namespace

void pack(const Dataset& dataset, const std::string& path, const PackOptions& options) {
  Packer(dataset, path, options).run();
}

// ---------------------------------------------------------------------------------------------
// Reading.

struct Hdf5Dataset::Impl {
  struct Key {
    KeySpec spec;
    Handle dataset;
  };
  std::string path;
  Handle file;
  size_t count = 0;
  json info;
  std::vector<std::string> names;
  std::vector<Key> keys;
  Handle meta;
  // Transfer properties for "meta": a variable-length read goes through HDF5's type-conversion
  // buffer, 1 MiB by default and cleared on every H5Dread, which cost ~25 us per sample. One
  // element needs 16 bytes.
  Handle meta_xfer;

  [[noreturn]] void fail(const std::string& what) const { throw DataError("hdf5 file " + path + ": " + what); }

  /// Reads `count` elements of sample `index` from `dataset` into `out`, under the lock.
  bool read_row(hid_t dataset, hid_t mem_type, size_t index, const std::vector<int64_t>& row_shape, void* out,
                hid_t xfer = H5P_DEFAULT) const {
    std::vector<hsize_t> start{index}, counts{1};
    for (auto d : row_shape) {
      start.push_back(0);
      counts.push_back(static_cast<hsize_t>(d));
    }
    Handle file_space = space_h(H5Dget_space(dataset));
    Handle mem_space = space_h(H5Screate_simple(static_cast<int>(counts.size()), counts.data(), nullptr));
    return file_space.valid() &&
           H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, counts.data(), nullptr) >= 0 &&
           H5Dread(dataset, mem_type, mem_space.get(), file_space.get(), xfer, out) >= 0;
  }
};

Hdf5Dataset::Hdf5Dataset(Hdf5DatasetOptions opts) : options(std::move(opts)), impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.path = options.path();
  if (d.path.empty()) throw ConfigError("hdf5: option 'path' is required (a file written by facegan::data::pack)");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(d.path, ec)) throw DataError("HDF5 file not found: " + d.path);
  Hdf5Lock lock;
  if (H5Fis_hdf5(d.path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw DataError("not an HDF5 file: " + d.path);
  }
  d.file = file_h(H5Fopen(d.path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!d.file.valid()) throw DataError("cannot open HDF5 file " + d.path + hdf5_detail());
  const hid_t root = d.file.get();
  if (!has_attr(root, "facegan_layout_version")) {
    d.fail("not a facegan data file (no root attribute 'facegan_layout_version'; write it with facegan::data::pack)");
  }
  try {
    const int64_t version = read_int_attr(root, "facegan_layout_version");
    if (version != kHdf5LayoutVersion) {
      d.fail("facegan layout version " + std::to_string(version) + ", but this build reads version " +
             std::to_string(kHdf5LayoutVersion));
    }
    const int64_t count = read_int_attr(root, "count");
    if (count < 0) d.fail("negative count " + std::to_string(count));
    d.count = static_cast<size_t>(count);
    json key_info = json::parse(read_string_attr(root, "key_info"));
    d.info = json{{"facegan_layout_version", version},
                  {"source_type", read_string_attr(root, "source_type")},
                  {"count", count},
                  {"keys", json::array()},
                  {"key_info", key_info}};
    for (auto it = key_info.begin(); it != key_info.end(); ++it) d.info["keys"].push_back(it.key());
  } catch (const DataError& e) {
    if (std::string(e.what()).rfind("hdf5 file ", 0) == 0) throw;
    d.fail(std::string("bad layout: ") + e.what());
  } catch (const json::exception& e) {
    d.fail(std::string("bad layout: attribute 'key_info' is not valid JSON: ") + e.what());
  }

  const json& key_info = d.info["key_info"];
  std::vector<std::string> wanted = options.keys();
  if (wanted.empty()) {
    for (auto it = key_info.begin(); it != key_info.end(); ++it) wanted.push_back(it.key());
  }
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  for (const auto& name : wanted) {
    if (!key_info.contains(name)) {
      std::vector<std::string> present;
      for (auto it = key_info.begin(); it != key_info.end(); ++it) present.push_back(it.key());
      d.fail("no key '" + name + "'; it has: " + join_names(present));
    }
    const json& info = key_info.at(name);
    KeySpec spec;
    spec.name = name;
    try {
      spec.encoding = info.at("encoding").get<std::string>();
      spec.shape = info.at("shape").get<std::vector<int64_t>>();
      spec.dtype = find_dtype(info.at("dtype").get<std::string>());
    } catch (const json::exception& e) {
      d.fail("bad layout of key '" + name + "': " + e.what());
    }
    if (spec.dtype == nullptr) d.fail("key '" + name + "' has an unknown dtype " + info.at("dtype").dump());
    if (spec.encoding == kEncodingImage) {
      if (spec.shape.size() != 3 || spec.shape[0] != 3) d.fail("image key '" + name + "' is not [3, H, W]");
      spec.stored_shape = {spec.shape[1], spec.shape[2], 3};
      spec.dtype = find_dtype(torch::kUInt8);  // stored dtype; decoded to float32 below
    } else if (spec.encoding == kEncodingNone || spec.encoding == kEncodingCast) {
      spec.stored_shape = spec.shape;
    } else {
      d.fail("key '" + name + "' has an unknown encoding '" + spec.encoding + "'");
    }
    Handle ds = dataset_h(H5Dopen2(root, name.c_str(), H5P_DEFAULT));
    if (!ds.valid()) d.fail("cannot open the data set of key '" + name + "'" + hdf5_detail());
    Handle space = space_h(H5Dget_space(ds.get()));
    const int rank = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    std::vector<int64_t> expected{static_cast<int64_t>(d.count)};
    expected.insert(expected.end(), spec.stored_shape.begin(), spec.stored_shape.end());
    std::vector<int64_t> actual(dims.begin(), dims.end());
    if (actual != expected) {
      d.fail("key '" + name + "' has shape " + shape_text(actual) + ", expected " + shape_text(expected));
    }
    d.keys.push_back(Impl::Key{spec, std::move(ds)});
    d.names.push_back(name);
  }
  if (H5Lexists(root, "meta", H5P_DEFAULT) > 0) {
    d.meta = dataset_h(H5Dopen2(root, "meta", H5P_DEFAULT));
    if (!d.meta.valid()) d.fail("cannot open the data set 'meta'" + hdf5_detail());
    Handle space = space_h(H5Dget_space(d.meta.get()));
    hsize_t dims[1] = {0};
    if (H5Sget_simple_extent_ndims(space.get()) != 1 || H5Sget_simple_extent_dims(space.get(), dims, nullptr) < 0 ||
        dims[0] != d.count) {
      d.fail("'meta' is not a 1-D data set of " + std::to_string(d.count) + " strings");
    }
    d.meta_xfer = plist_h(H5Pcreate(H5P_DATASET_XFER));
    if (!d.meta_xfer.valid() || H5Pset_buffer(d.meta_xfer.get(), 4096, nullptr, nullptr) < 0) {
      d.fail("cannot set up reading 'meta'" + hdf5_detail());
    }
  }
}

Hdf5Dataset::~Hdf5Dataset() {
  if (!impl_) return;
  Hdf5Lock lock;
  impl_->keys.clear();
  impl_->meta.reset();
  impl_->meta_xfer.reset();
  impl_->file.reset();
}

size_t Hdf5Dataset::size() const { return impl_->count; }

const std::vector<std::string>& Hdf5Dataset::keys() const { return impl_->names; }

const json& Hdf5Dataset::info() const { return impl_->info; }

Sample Hdf5Dataset::get(size_t index) const {
  const Impl& d = *impl_;
  if (index >= d.count) {
    d.fail("sample index " + std::to_string(index) + " is out of range (size " + std::to_string(d.count) + ")");
  }
  std::vector<torch::Tensor> raw;
  raw.reserve(d.keys.size());
  std::string meta_text;
  {
    Hdf5Lock lock;
    for (const auto& key : d.keys) {
      torch::Tensor t = torch::empty(key.spec.stored_shape, torch::TensorOptions().dtype(key.spec.dtype->stored));
      if (!d.read_row(key.dataset.get(), native_type(key.spec.dtype->stored), index, key.spec.stored_shape,
                      t.data_ptr())) {
        d.fail("cannot read key '" + key.spec.name + "' of sample " + std::to_string(index) + hdf5_detail());
      }
      raw.push_back(std::move(t));
    }
    if (d.meta.valid()) {
      Handle type = vlen_string_type();
      char* ptr = nullptr;
      if (!d.read_row(d.meta.get(), type.get(), index, {}, &ptr, d.meta_xfer.get())) {
        d.fail("cannot read 'meta' of sample " + std::to_string(index) + hdf5_detail());
      }
      meta_text = ptr != nullptr ? ptr : "";
      H5free_memory(ptr);
    }
  }
  Sample sample;
  for (size_t k = 0; k < d.keys.size(); ++k) {
    const KeySpec& spec = d.keys[k].spec;
    torch::Tensor t = std::move(raw[k]);
    if (spec.encoding == kEncodingImage) {
      // The same arithmetic as image_to_tensor, so 8-bit sources read back bit-identical.
      t = t.permute({2, 0, 1}).to(torch::kFloat32).div_(127.5).sub_(1.0).contiguous();
    } else if (spec.encoding == kEncodingCast) {
      t = t.to(spec.dtype->dtype);
    }
    sample.tensors.emplace(spec.name, std::move(t));
  }
  if (!meta_text.empty()) {
    try {
      sample.meta = json::parse(meta_text);
    } catch (const json::exception& e) {
      d.fail("'meta' of sample " + std::to_string(index) + " is not valid JSON: " + e.what());
    }
  }
  return sample;
}

void register_hdf5_datasets(Registry<Dataset>& registry) {
  registry.add(
      "hdf5",
      [](const json& options) -> std::shared_ptr<Dataset> {
        return std::make_shared<Hdf5Dataset>(apply_json(Hdf5DatasetOptions(), options, "hdf5"));
      },
      "a file written by facegan::data::pack (any data set packed into one HDF5 file; random access)",
      options_to_json(Hdf5DatasetOptions()));
}

}  // namespace facegan::data
