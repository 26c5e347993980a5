#pragma once
// The built-in list of losses, declared here for loss_registry() and defined by the built-in
// registration (src/builtin/builtins.cpp), the one file that names every built-in product.

#include <facegan/losses/loss.hpp>

namespace facegan::losses {

/// Fills `registry` with every built-in loss family (called once, by loss_registry()).
void register_builtin_losses(Registry<Loss>& registry);

}  // namespace facegan::losses
