#include "builtin_datasets.hpp"

#include <facegan/data/identity_pairs.hpp>
#include <facegan/data/makeup_pairs.hpp>

namespace facegan::data {

void register_builtin_datasets(Registry<Dataset>& registry) {
  register_synthetic_datasets(registry);
  register_synthetic_pair_datasets(registry);
  register_identity_pair_datasets(registry);
  register_file_datasets(registry);
  register_hdf5_datasets(registry);
  register_makeup_datasets(registry);
}

}  // namespace facegan::data
