#pragma once

/// Umbrella header: everything a facegan application needs.

#include <facegan/core/config.hpp>
#include <facegan/core/error.hpp>
#include <facegan/core/registry.hpp>
#include <facegan/data/image.hpp>
#include <facegan/losses/adversarial.hpp>
#include <facegan/losses/loss.hpp>
#include <facegan/losses/reconstruction.hpp>
#include <facegan/losses/regularizers.hpp>
#include <facegan/models/blocks/encoders.hpp>
#include <facegan/models/blocks/init.hpp>
#include <facegan/models/blocks/layers.hpp>
#include <facegan/models/blocks/patchgan.hpp>
#include <facegan/models/blocks/resnet.hpp>
#include <facegan/models/blocks/unet.hpp>
