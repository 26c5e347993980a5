# Locates LibTorch inside the pinned PyPI torch wheel and repairs the two things its CMake config
# needs on a machine that has the CUDA toolkit but no GPU. Used by the build and by the installed
# faceganConfig.cmake, so a consumer project gets exactly the same torch.
include_guard(GLOBAL)

set(_facegan_torch_dir "${CMAKE_CURRENT_LIST_DIR}")

macro(facegan_find_torch)
  if(NOT Torch_DIR)
    # The pin lives in one place, torch-version.txt; scripts/setup.sh installs that wheel into
    # $FACEGAN_HOME/torch-<version> (default ~/.cache/facegan), outside any clone.
    file(STRINGS "${_facegan_torch_dir}/torch-version.txt" FACEGAN_TORCH_VERSION LIMIT_COUNT 1)
    if(DEFINED ENV{FACEGAN_HOME})
      set(_facegan_home "$ENV{FACEGAN_HOME}")
    else()
      set(_facegan_home "$ENV{HOME}/.cache/facegan")
    endif()
    set(FACEGAN_PYTHON "${_facegan_home}/torch-${FACEGAN_TORCH_VERSION}/bin/python"
        CACHE FILEPATH "Python interpreter whose torch wheel provides LibTorch")
    execute_process(
      COMMAND "${FACEGAN_PYTHON}" -c
              "import sys, torch; sys.stdout.write(torch.utils.cmake_prefix_path + ';' + torch.__version__)"
      OUTPUT_VARIABLE _facegan_torch_out ERROR_VARIABLE _facegan_torch_err
      RESULT_VARIABLE _facegan_torch_rc)
    if(NOT _facegan_torch_rc EQUAL 0)
      message(FATAL_ERROR "facegan: cannot import torch with ${FACEGAN_PYTHON}:\n${_facegan_torch_err}\n"
                          "Run scripts/setup.sh (it installs torch ${FACEGAN_TORCH_VERSION}), or pass "
                          "-DFACEGAN_PYTHON=<python with torch> or -DTorch_DIR=<.../share/cmake/Torch>.")
    endif()
    list(GET _facegan_torch_out 0 _facegan_torch_prefix)
    list(GET _facegan_torch_out 1 _facegan_torch_wheel_version)
    string(REGEX REPLACE "\\+.*" "" _facegan_torch_wheel_version "${_facegan_torch_wheel_version}")
    if(NOT _facegan_torch_wheel_version VERSION_EQUAL FACEGAN_TORCH_VERSION)
      message(FATAL_ERROR "facegan: ${FACEGAN_PYTHON} has torch ${_facegan_torch_wheel_version}, "
                          "but cmake/torch-version.txt pins ${FACEGAN_TORCH_VERSION}")
    endif()
    set(Torch_DIR "${_facegan_torch_prefix}/Torch" CACHE PATH "LibTorch's CMake config folder" FORCE)
  endif()

  # The wheel is a CUDA build: its config needs the toolkit even when no GPU will run it.
  if(NOT CUDAToolkit_ROOT AND NOT DEFINED ENV{CUDAToolkit_ROOT} AND EXISTS "/usr/local/cuda/bin/nvcc")
    set(CUDAToolkit_ROOT "/usr/local/cuda")
  endif()
  if(NOT CMAKE_CUDA_COMPILER AND CUDAToolkit_ROOT AND EXISTS "${CUDAToolkit_ROOT}/bin/nvcc")
    set(CMAKE_CUDA_COMPILER "${CUDAToolkit_ROOT}/bin/nvcc")
  endif()
  if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST} AND NOT TORCH_CUDA_ARCH_LIST)
    # Without a GPU the config cannot detect one and warns; name the data-centre archs instead.
    set(TORCH_CUDA_ARCH_LIST "8.0;9.0")
  endif()
  find_package(CUDAToolkit QUIET)
  # CUDA 12.9+ ships NVTX 3 only (header-only); older torch configs still ask for nvToolsExt.
  if(TARGET CUDA::nvtx3 AND NOT TARGET CUDA::nvToolsExt)
    add_library(CUDA::nvToolsExt INTERFACE IMPORTED)
    target_link_libraries(CUDA::nvToolsExt INTERFACE CUDA::nvtx3)
  endif()

  find_package(Torch REQUIRED)

  # libtorch_cuda.so finds the wheel's NCCL, cuDNN and CUDA runtime through its own $ORIGIN rpath at
  # run time, but at link time ld searches our -rpath (which names the system toolkit, whose older
  # libnccl lacks symbols) first. Point ld at the wheel's copies.
  if(NOT _facegan_torch_fixed)
    set(_facegan_torch_fixed TRUE)
    file(GLOB _facegan_nvidia_dirs LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib")
    if(_facegan_nvidia_dirs)
      string(JOIN ":" _facegan_nvidia_path ${_facegan_nvidia_dirs})
      set_property(TARGET torch APPEND PROPERTY INTERFACE_LINK_OPTIONS
                   "LINKER:-rpath-link,${_facegan_nvidia_path}")
    endif()
  endif()
endmacro()
