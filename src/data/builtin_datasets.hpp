#pragma once
// The built-in list of data set types, declared here for dataset_registry() and defined by the
// built-in registration (src/builtin/builtins.cpp), the one file that names every built-in
// product. Each family's source file defines its register_* function.

#include <facegan/data/dataset.hpp>

namespace facegan::data {

/// Fills `registry` with every builtin data set type (called once, by dataset_registry()).
void register_builtin_datasets(Registry<Dataset>& registry);

/// "synthetic_faces" (src/data/synthetic_faces.cpp).
void register_synthetic_datasets(Registry<Dataset>& registry);
/// "image_folder", "celeba", "mt_makeup", "ck_plus", "oulu_casia" (src/data/readers.cpp).
void register_file_datasets(Registry<Dataset>& registry);
/// "synthetic_pairs" (src/data/synthetic_pairs.cpp).
void register_synthetic_pair_datasets(Registry<Dataset>& registry);
/// "hdf5" (src/data/hdf5.cpp).
void register_hdf5_datasets(Registry<Dataset>& registry);

}  // namespace facegan::data
