#include <caffe2/serialize/inline_container.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <facegan/core/error.hpp>
#include <facegan/core/files.hpp>
#include <facegan/models/interop/state_dict.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

namespace facegan::models {
namespace {

// torch.save names a storage's dtype by its legacy class, torch.<Name>Storage.
constexpr std::array<std::pair<c10::ScalarType, const char*>, 10> kStorageTypes{{
    {c10::kFloat, "FloatStorage"},
    {c10::kDouble, "DoubleStorage"},
    {c10::kHalf, "HalfStorage"},
    {c10::kBFloat16, "BFloat16Storage"},
    {c10::kLong, "LongStorage"},
    {c10::kInt, "IntStorage"},
    {c10::kShort, "ShortStorage"},
    {c10::kChar, "CharStorage"},
    {c10::kByte, "ByteStorage"},
    {c10::kBool, "BoolStorage"},
}};

// ---------------------------------------------------------------------------------------------
// Reading: the subset of the pickle machine (protocols 2-5) that torch.save's output uses.

struct Value;
using ValuePtr = std::shared_ptr<Value>;

/// A Python value on the unpickler's stack. Callables are globals ("module.name"); calls to ones
/// this reader does not know give opaque objects, which are an error only if they end up in the
/// state dict.
struct Value {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kBytes,
    kTuple,
    kList,
    kDict,
    kGlobal,
    kObject,
    kStorage,
    kTensor
  };
  Kind kind = Kind::kNone;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;  // string, bytes, the global's name, or the callable that made an object
  std::vector<ValuePtr> items;
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;
  torch::Tensor tensor;  // a storage (flat) or a tensor
};

ValuePtr make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

const char* kind_name(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return "a bool";
    case Value::Kind::kInt: return "an int";
    case Value::Kind::kFloat: return "a float";
    case Value::Kind::kString: return "a str";
    case Value::Kind::kBytes: return "bytes";
    case Value::Kind::kTuple: return "a tuple";
    case Value::Kind::kList: return "a list";
    case Value::Kind::kDict: return "a dict";
    case Value::Kind::kGlobal: return "a class or function";
    case Value::Kind::kObject: return "an object";
    case Value::Kind::kStorage: return "a storage";
    case Value::Kind::kTensor: return "a tensor";
  }
  return "a value";
}

std::string describe(const Value& v) {
  if (v.kind == Value::Kind::kObject) return "an object made by " + v.text;
  if (v.kind == Value::Kind::kGlobal) return "the class or function " + v.text;
  return kind_name(v.kind);
}

class Unpickler {
 public:
  Unpickler(const std::string& path, caffe2::serialize::PyTorchStreamReader& reader, const char* data, size_t size)
      : path_(path), reader_(reader), data_(data), size_(size) {}

  ValuePtr run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;   // PROTO
        case 0x95: take(8); break;  // FRAME
        case '.': return pop();     // STOP
        case '(': marks_.push_back(stack_.size()); break;
        case '}': push(make(Value::Kind::kDict)); break;
        case ']': push(make(Value::Kind::kList)); break;
        case ')': push(make(Value::Kind::kTuple)); break;
        case 't': push(sequence(Value::Kind::kTuple, pop_mark())); break;
        case 'l': push(sequence(Value::Kind::kList, pop_mark())); break;
        case 0x85: tuple_of(1); break;
        case 0x86: tuple_of(2); break;
        case 0x87: tuple_of(3); break;
        case 'd': {
          auto dict = make(Value::Kind::kDict);
          set_items(*dict, pop_mark());
          push(dict);
          break;
        }
        case 'q': memo_[byte()] = top(); break;                                // BINPUT
        case 'r': memo_[static_cast<uint32_t>(little(4))] = top(); break;      // LONG_BINPUT
        case 0x94: memo_[static_cast<uint32_t>(memo_.size())] = top(); break;  // MEMOIZE
        case 'h': push(memo(byte())); break;                                   // BINGET
        case 'j': push(memo(static_cast<uint32_t>(little(4)))); break;         // LONG_BINGET
        case 'J': push(integer(static_cast<int32_t>(static_cast<uint32_t>(little(4))))); break;
        case 'K': push(integer(byte())); break;
        case 'M': push(integer(static_cast<int64_t>(little(2)))); break;
        case 0x8a: push(integer(signed_little(byte()))); break;                          // LONG1
        case 0x8b: push(integer(signed_little(static_cast<size_t>(little(4))))); break;  // LONG4
        case 'N': push(make(Value::Kind::kNone)); break;
        case 0x88: push(boolean(true)); break;
        case 0x89: push(boolean(false)); break;
        case 'X': push(string(Value::Kind::kString, static_cast<size_t>(little(4)))); break;
        case 0x8c: push(string(Value::Kind::kString, byte())); break;
        case 0x8d: push(string(Value::Kind::kString, static_cast<size_t>(little(8)))); break;
        case 'C': push(string(Value::Kind::kBytes, byte())); break;
        case 'B': push(string(Value::Kind::kBytes, static_cast<size_t>(little(4)))); break;
        case 0x8e: push(string(Value::Kind::kBytes, static_cast<size_t>(little(8)))); break;
        case 'G': {  // BINFLOAT: big-endian double
          const char* p = take(8);
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<uint8_t>(p[i]);
          auto v = make(Value::Kind::kFloat);
          std::memcpy(&v->real, &bits, sizeof bits);
          push(v);
          break;
        }
        case 's': {
          auto value = pop();
          auto key = pop();
          dict_of(top()).entries.emplace_back(key, value);
          break;
        }
        case 'u': {
          auto items = pop_mark();
          set_items(dict_of(top()), items);
          break;
        }
        case 'a': {
          auto value = pop();
          list_of(top()).items.push_back(value);
          break;
        }
        case 'e': {
          auto items = pop_mark();
          auto& list = list_of(top());
          list.items.insert(list.items.end(), items.begin(), items.end());
          break;
        }
        case 'c': {  // GLOBAL "module\nname\n"
          const std::string module = line();
          push(global(module + "." + line()));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = pop();
          auto module = pop();
          push(global(module->text + "." + name->text));
          break;
        }
        case 'R': {  // REDUCE
          auto args = pop();
          auto callable = pop();
          push(call(*callable, *args));
          break;
        }
        case 0x81: {  // NEWOBJ: an instance of a class this reader does not model
          pop();
          auto cls = pop();
          auto v = make(Value::Kind::kObject);
          v->text = cls->text;
          push(v);
          break;
        }
        case 'b': pop(); break;                     // BUILD: the state (an OrderedDict's _metadata) is not needed
        case 'Q': push(persistent(*pop())); break;  // BINPERSID
        default: fail("unsupported pickle opcode 0x" + hex(op) + " at byte " + std::to_string(pos_ - 1));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw CheckpointError("cannot read state dict " + path_ + ": " + why);
  }
  static std::string hex(uint8_t op) {
    const char* digits = "0123456789abcdef";
    return {digits[op >> 4], digits[op & 15]};
  }
  const char* take(size_t n) {
    if (n > size_ - pos_) fail("the pickle ends early (truncated file?)");
    const char* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint8_t byte() { return static_cast<uint8_t>(*take(1)); }
  uint64_t little(size_t n) {
    const char* p = take(n);
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | static_cast<uint8_t>(p[i]);
    return v;
  }
  int64_t signed_little(size_t n) {
    if (n == 0) return 0;
    if (n > 8) fail("an integer of " + std::to_string(n) + " bytes");
    uint64_t v = little(n);
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }
  std::string line() {
    const size_t start = pos_;
    while (pos_ < size_ && data_[pos_] != '\n') ++pos_;
    if (pos_ >= size_) fail("the pickle ends early (truncated file?)");
    return std::string(data_ + start, data_ + pos_++);
  }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  ValuePtr pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back()))
      fail("malformed pickle (stack underflow)");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  ValuePtr top() {
    if (stack_.empty()) fail("malformed pickle (empty stack)");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_mark() {
    if (marks_.empty()) fail("malformed pickle (no mark)");
    const size_t start = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(start), stack_.end());
    stack_.resize(start);
    return items;
  }
  ValuePtr memo(uint32_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("malformed pickle (memo " + std::to_string(index) + " unset)");
    return it->second;
  }
  static ValuePtr sequence(Value::Kind kind, std::vector<ValuePtr> items) {
    auto v = make(kind);
    v->items = std::move(items);
    return v;
  }
  void tuple_of(size_t n) {
    std::vector<ValuePtr> items(n);
    for (size_t i = n; i-- > 0;) items[i] = pop();
    push(sequence(Value::Kind::kTuple, std::move(items)));
  }
  static ValuePtr integer(int64_t i) {
    auto v = make(Value::Kind::kInt);
    v->integer = i;
    return v;
  }
  static ValuePtr boolean(bool b) {
    auto v = make(Value::Kind::kBool);
    v->integer = b;
    return v;
  }
  ValuePtr string(Value::Kind kind, size_t n) {
    auto v = make(kind);
    const char* p = take(n);
    v->text.assign(p, n);
    return v;
  }
  static ValuePtr global(std::string name) {
    auto v = make(Value::Kind::kGlobal);
    v->text = std::move(name);
    return v;
  }
  Value& dict_of(const ValuePtr& v) {
    if (v->kind != Value::Kind::kDict) fail("items set on " + describe(*v));
    return *v;
  }
  Value& list_of(const ValuePtr& v) {
    if (v->kind != Value::Kind::kList) fail("items appended to " + describe(*v));
    return *v;
  }
  void set_items(Value& dict, const std::vector<ValuePtr>& items) {
    if (items.size() % 2 != 0) fail("malformed pickle (odd number of dict items)");
    for (size_t i = 0; i < items.size(); i += 2) dict.entries.emplace_back(items[i], items[i + 1]);
  }
  int64_t int_of(const Value& v, const char* what) const {
    if (v.kind != Value::Kind::kInt) fail(std::string(what) + " is " + describe(v) + ", expected an int");
    return v.integer;
  }
  std::vector<int64_t> ints_of(const Value& v, const char* what) const {
    if (v.kind != Value::Kind::kTuple && v.kind != Value::Kind::kList) {
      fail(std::string(what) + " is " + describe(v) + ", expected a tuple of ints");
    }
    std::vector<int64_t> out;
    for (const auto& item : v.items) out.push_back(int_of(*item, what));
    return out;
  }

  /// The callables torch.save uses for tensors and state dicts; any other gives an opaque object.
  ValuePtr call(const Value& callable, const Value& args) {
    if (callable.kind != Value::Kind::kGlobal) fail("a call of " + describe(callable));
    const std::string& name = callable.text;
    const auto& a = args.items;
    if (name == "collections.OrderedDict") {
      auto dict = make(Value::Kind::kDict);
      if (!a.empty() && (a[0]->kind == Value::Kind::kList || a[0]->kind == Value::Kind::kTuple)) {
        for (const auto& pair : a[0]->items) {
          if (pair->items.size() == 2) dict->entries.emplace_back(pair->items[0], pair->items[1]);
        }
      }
      return dict;
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (a.size() < 4 || a[0]->kind != Value::Kind::kStorage) fail(name + " called with unexpected arguments");
      const torch::Tensor& storage = a[0]->tensor;
      const int64_t offset = int_of(*a[1], "a tensor's storage offset");
      const auto sizes = ints_of(*a[2], "a tensor's size");
      const auto strides = ints_of(*a[3], "a tensor's stride");
      if (sizes.size() != strides.size())
        fail("a tensor with " + std::to_string(sizes.size()) + " sizes and " + std::to_string(strides.size()) +
             " strides");
      int64_t last = offset;
      bool empty = false;
      for (size_t i = 0; i < sizes.size(); ++i) {
        if (sizes[i] < 0 || strides[i] < 0) fail("a tensor with a negative size or stride");
        if (sizes[i] == 0) empty = true;
        last += (sizes[i] - 1) * strides[i];
      }
      auto v = make(Value::Kind::kTensor);
      if (empty) {
        v->tensor = torch::empty(sizes, storage.options());
      } else {
        if (offset < 0 || last >= storage.numel()) fail("a tensor reaches past the end of its storage");
        v->tensor = storage.as_strided(sizes, strides, offset).clone(at::MemoryFormat::Contiguous);
      }
      return v;
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (a.empty() || a[0]->kind != Value::Kind::kTensor) fail(name + " called with unexpected arguments");
      return a[0];
    }
    auto v = make(Value::Kind::kObject);
    v->text = name;
    return v;
  }

  /// BINPERSID ('storage', torch.<Type>Storage, key, location, numel): the storage in record
  /// data/<key> of the archive, shared by every tensor that names the key.
  ValuePtr persistent(const Value& pid) {
    if (pid.kind != Value::Kind::kTuple || pid.items.size() < 3 || pid.items[0]->text != "storage") {
      fail("unsupported persistent id (not a storage)");
    }
    const std::string& type = pid.items[1]->text;
    const std::string& key = pid.items[2]->text;
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    std::optional<c10::ScalarType> dtype;
    for (const auto& [t, n] : kStorageTypes) {
      if (type == std::string("torch.") + n) dtype = t;
    }
    if (!dtype) fail("storage " + key + " has unsupported type " + type);
    const std::string record = "data/" + key;
    if (!reader_.hasRecord(record)) fail("the archive has no record " + record);
    auto [ptr, bytes] = reader_.getRecord(record);
    const auto element = static_cast<size_t>(c10::elementSize(*dtype));
    if (bytes % element != 0)
      fail("record " + record + " holds " + std::to_string(bytes) + " bytes, not a whole number of " + type +
           " elements");
    auto v = make(Value::Kind::kStorage);
    v->tensor = torch::empty({static_cast<int64_t>(bytes / element)}, torch::TensorOptions().dtype(*dtype));
    if (bytes > 0) std::memcpy(v->tensor.data_ptr(), ptr.get(), bytes);
    storages_[key] = v;
    return v;
  }

  std::string path_;
  caffe2::serialize::PyTorchStreamReader& reader_;
  const char* data_;
  size_t size_;
  size_t pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, ValuePtr> memo_;
  std::unordered_map<std::string, ValuePtr> storages_;
};

// ---------------------------------------------------------------------------------------------
// Writing: protocol 2, as torch.save, with only globals torch.load's weights_only unpickler allows.

class Pickler {
 public:
  std::string bytes = std::string("\x80\x02", 2);  // PROTO 2

  void global(const char* module, const char* name) {
    bytes += 'c';
    bytes += module;
    bytes += '\n';
    bytes += name;
    bytes += '\n';
  }
  void string(const std::string& s) {
    bytes += 'X';
    le(static_cast<uint64_t>(s.size()), 4);
    bytes += s;
  }
  void integer(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      bytes += 'J';
      le(static_cast<uint64_t>(static_cast<uint32_t>(static_cast<int32_t>(v))), 4);
    } else {
      bytes += '\x8a';  // LONG1, 8 bytes two's complement
      bytes += '\x08';
      le(static_cast<uint64_t>(v), 8);
    }
  }
  void ints(c10::IntArrayRef values) {
    bytes += '(';
    for (int64_t v : values) integer(v);
    bytes += 't';
  }
  /// An empty collections.OrderedDict (the state dict itself, and a tensor's backward hooks).
  void ordered_dict() {
    global("collections", "OrderedDict");
    bytes += ")R";
  }
  /// torch._utils._rebuild_tensor_v2(storage key, 0, size, stride, False, OrderedDict()).
  void tensor(const torch::Tensor& t, const char* storage_type, const std::string& key) {
    global("torch._utils", "_rebuild_tensor_v2");
    bytes += '(';
    bytes += '(';
    string("storage");
    global("torch", storage_type);
    string(key);
    string("cpu");
    integer(t.numel());
    bytes += "tQ";  // the persistent id tuple, BINPERSID
    integer(0);
    ints(t.sizes());
    ints(t.strides());
    bytes += '\x89';  // requires_grad False
    ordered_dict();
    bytes += "tR";
  }

 private:
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) bytes += static_cast<char>((v >> (8 * i)) & 0xff);
  }
};

const char* storage_type(c10::ScalarType dtype, const std::string& path, const std::string& name) {
  for (const auto& [t, n] : kStorageTypes) {
    if (t == dtype) return n;
  }
  throw CheckpointError("cannot write state dict " + path + ": tensor '" + name + "' has dtype " +
                        std::string(c10::toString(dtype)) + ", which has no torch.save storage type here");
}

}  // namespace

StateDict read_state_dict(const std::string& path) {
  namespace fs = std::filesystem;
  if (!fs::is_regular_file(path)) throw CheckpointError("state dict " + path + " does not exist");
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const std::exception&) {
    throw CheckpointError(path +
                          " is not a state dict: not a zip archive of torch.save (a file of PyTorch < 1.6 "
                          "or of torch.save(..., _use_new_zipfile_serialization=False)? load and save it again "
                          "with torch.save in PyTorch >= 1.6)");
  }
  if (reader->hasRecord("constants.pkl") || reader->hasRecord("code/.data/version")) {
    throw CheckpointError(path +
                          " is not a state dict: it is a TorchScript archive (a facegan checkpoint, or "
                          "torch.jit.save's output); export a facegan network with `facegan export`");
  }
  if (!reader->hasRecord("data.pkl")) throw CheckpointError(path + " is not a state dict: the archive has no data.pkl");
  if (reader->hasRecord("byteorder")) {
    auto [order, n] = reader->getRecord("byteorder");
    if (std::string(static_cast<const char*>(order.get()), n) != "little") {
      throw CheckpointError("cannot read state dict " + path + ": it was written on a big-endian machine");
    }
  }
  auto [pickle, size] = reader->getRecord("data.pkl");
  ValuePtr root;
  try {
    root = Unpickler(path, *reader, static_cast<const char*>(pickle.get()), size).run();
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError("cannot read state dict " + path + ": " + error_message(e));
  }
  if (root->kind != Value::Kind::kDict) {
    throw CheckpointError(path + " is not a state dict: torch.save wrote " + describe(*root) +
                          ", not a dict of tensors (save net.state_dict())");
  }
  StateDict out;
  std::set<std::string> seen;
  for (const auto& [key, value] : root->entries) {
    if (key->kind != Value::Kind::kString) {
      throw CheckpointError(path + " is not a state dict: it has a key that is " + describe(*key) + ", not a str");
    }
    if (value->kind != Value::Kind::kTensor) {
      throw CheckpointError(path + " is not a state dict: its entry '" + key->text + "' is " + describe(*value) +
                            ", not a tensor (a training checkpoint with several entries? save net.state_dict())");
    }
    if (seen.insert(key->text).second) out.emplace_back(key->text, value->tensor);
  }
  return out;
}

void write_state_dict(const std::string& path, const StateDict& tensors) {
  Pickler pickle;
  pickle.ordered_dict();
  std::vector<torch::Tensor> storages;
  std::set<std::string> names;
  pickle.bytes += '(';
  for (const auto& [name, tensor] : tensors) {
    if (!names.insert(name).second)
      throw CheckpointError("cannot write state dict " + path + ": duplicate key '" + name + "'");
    TORCH_CHECK(tensor.defined(), "write_state_dict: tensor '", name, "' is undefined");
    const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
    const std::string key = std::to_string(storages.size());
    pickle.string(name);
    pickle.tensor(t, storage_type(t.scalar_type(), path, name), key);
    storages.push_back(t);
  }
  pickle.bytes += "u.";  // SETITEMS, STOP

  std::string bytes;
  try {
    caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t n) {
      bytes.append(static_cast<const char*>(data), n);
      return n;
    });
    writer.writeRecord("data.pkl", pickle.bytes.data(), pickle.bytes.size());
    writer.writeRecord("byteorder", "little", 6);
    for (size_t i = 0; i < storages.size(); ++i) {
      writer.writeRecord("data/" + std::to_string(i), storages[i].data_ptr(), storages[i].nbytes());
    }
    writer.writeEndOfFile();
  } catch (const std::exception& e) {
    throw CheckpointError("cannot write state dict " + path + ": " + error_message(e));
  }
  write_file_atomic(path, bytes);
}

}  // namespace facegan::models
