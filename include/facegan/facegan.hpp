#pragma once

/// Umbrella header: everything a facegan application needs.

#include <facegan/core/config.hpp>
#include <facegan/core/error.hpp>
#include <facegan/core/registry.hpp>
#include <facegan/data/align.hpp>
#include <facegan/data/dataset.hpp>
#include <facegan/data/hdf5.hpp>
#include <facegan/data/image.hpp>
#include <facegan/data/loader.hpp>
#include <facegan/data/readers.hpp>
#include <facegan/data/synthetic_faces.hpp>
#include <facegan/data/synthetic_pairs.hpp>
#include <facegan/data/transforms.hpp>
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
#include <facegan/models/pix2pix/pix2pix_task.hpp>
#include <facegan/train/amp.hpp>
#include <facegan/train/checkpoint.hpp>
#include <facegan/train/distributed.hpp>
#include <facegan/train/ema.hpp>
#include <facegan/train/progress.hpp>
#include <facegan/train/schedule.hpp>
#include <facegan/train/task.hpp>
#include <facegan/train/trainer.hpp>
