// The built-in registration: the one file that names every built-in data set, loss, task and
// baseline. It stands above the papers (it includes every paper's task header) so that no lower
// layer names a higher one: data/, losses/ and train/ only declare their list (in a private header
// beside their registry) and call it when the registry is first used.
//
// That call is a link-time dependency, not an include: dataset_registry(), loss_registry(),
// task_registry() and baseline_registry() reference the functions defined here, so a static link
// of the library pulls this object file in (and through it every registered product) whenever a
// program uses a registry, with no self-registering static objects for the linker to drop and
// nothing for the application to call.

#include "../data/builtin_datasets.hpp"
#include "../losses/builtin_losses.hpp"
#include "../train/builtin_tasks.hpp"

#include <facegan/data/identity_pairs.hpp>
#include <facegan/data/makeup_pairs.hpp>
#include <facegan/losses/adversarial.hpp>
#include <facegan/losses/reconstruction.hpp>
#include <facegan/losses/regularizers.hpp>
#include <facegan/models/derl/derl_task.hpp>
#include <facegan/models/makeup/makeup_task.hpp>
#include <facegan/models/open_set/open_set_task.hpp>
#include <facegan/models/pix2pix/pix2pix_task.hpp>

namespace facegan {

void data::register_builtin_datasets(Registry<Dataset>& registry) {
  register_synthetic_datasets(registry);
  register_synthetic_pair_datasets(registry);
  register_identity_pair_datasets(registry);
  register_file_datasets(registry);
  register_hdf5_datasets(registry);
  register_makeup_datasets(registry);
}

void losses::register_builtin_losses(Registry<Loss>& registry) {
  register_adversarial_losses(registry);
  register_reconstruction_losses(registry);
  register_regularizer_losses(registry);
}

void train::register_builtin_tasks(Registry<Task>& registry) {
  models::register_pix2pix_task(registry);
  models::register_derl_task(registry);
  models::register_makeup_task(registry);
  models::register_open_set_tasks(registry);
}

void train::register_builtin_baselines(Registry<Baseline>& registry) {
  models::register_pix2pix_baselines(registry);
  models::register_derl_baselines(registry);
  models::register_makeup_baselines(registry);
  models::register_open_set_baselines(registry);
}

}  // namespace facegan
