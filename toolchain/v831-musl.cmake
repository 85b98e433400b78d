# CMake toolchain file: the real board toolchain for the Allwinner V831
# (Sipeed MaixII-Dock: Cortex-A7, armv7-a, NEON + VFPv4, hard-float, musl libc).
#
#   cmake -S . -B build/v831 -DCMAKE_TOOLCHAIN_FILE=toolchain/v831-musl.cmake \
#         [-DV831_TOOLCHAIN_ROOT=/path/to/toolchain-sunxi-musl/toolchain]
#   cmake --build build/v831 -j2
#
# The real toolchain-sunxi-musl (OpenWrt/Linaro GCC 6.4, prefix
# arm-openwrt-linux-muslgnueabi-) is not installed on the development machine
# and no board is reachable.  tests/test_toolchains.py tests this file with a
# stand-in: a folder bin/ of scripts named like the sunxi tools that run zig's
# musl cross compiler (and refuse to run without STAGING_DIR); the engine,
# run_model and nn_resnet built that way run under qemu-arm.
#
# When qemu-arm is installed, CMAKE_CROSSCOMPILING_EMULATOR runs the programs
# (ctest); the musl loader for dynamic programs is looked up in the toolchain
# folder first (see musl-qemu.cmake).
#
# Toolchain root, first one set wins: -DV831_TOOLCHAIN_ROOT=..., the
# environment variable V831_TOOLCHAIN_ROOT, /opt/toolchain-sunxi-musl/toolchain.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)

if(NOT V831_TOOLCHAIN_ROOT)
  if(DEFINED ENV{V831_TOOLCHAIN_ROOT} AND NOT "$ENV{V831_TOOLCHAIN_ROOT}" STREQUAL "")
    set(V831_TOOLCHAIN_ROOT "$ENV{V831_TOOLCHAIN_ROOT}")
  else()
    set(V831_TOOLCHAIN_ROOT /opt/toolchain-sunxi-musl/toolchain)
  endif()
endif()
# the toolchain file is read again for every try_compile project: pass the
# choice on to them instead of falling back to the default
set(V831_TOOLCHAIN_ROOT "${V831_TOOLCHAIN_ROOT}" CACHE PATH "toolchain-sunxi-musl root (holds bin/)")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES V831_TOOLCHAIN_ROOT)

set(V831_PREFIX ${V831_TOOLCHAIN_ROOT}/bin/arm-openwrt-linux-muslgnueabi-)
if(NOT EXISTS ${V831_PREFIX}gcc)
  message(FATAL_ERROR "v831-musl.cmake: ${V831_PREFIX}gcc does not exist; "
                      "pass -DV831_TOOLCHAIN_ROOT=<dir holding bin/arm-openwrt-linux-muslgnueabi-gcc> "
                      "or set the environment variable V831_TOOLCHAIN_ROOT")
endif()

# OpenWrt's gcc wrapper warns (and some tools fail) when STAGING_DIR is unset;
# the toolchain directory itself is what it expects.  The value is seen by the
# compiler processes CMake starts during configure; the build steps run later,
# outside this process, so the launchers below pass it on to every compile and
# (CMake >= 3.21) link command.
if(NOT DEFINED ENV{STAGING_DIR} OR "$ENV{STAGING_DIR}" STREQUAL "")
  set(ENV{STAGING_DIR} "${V831_TOOLCHAIN_ROOT}")
endif()
set(V831_STAGING_DIR "$ENV{STAGING_DIR}")
set(CMAKE_C_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env STAGING_DIR=${V831_STAGING_DIR})
set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env STAGING_DIR=${V831_STAGING_DIR})
set(CMAKE_C_LINKER_LAUNCHER ${CMAKE_COMMAND} -E env STAGING_DIR=${V831_STAGING_DIR})

set(CMAKE_C_COMPILER ${V831_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${V831_PREFIX}g++)
set(CMAKE_AR ${V831_PREFIX}ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${V831_PREFIX}ranlib CACHE FILEPATH "")
set(CMAKE_STRIP ${V831_PREFIX}strip CACHE FILEPATH "")

set(CMAKE_C_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")
set(CMAKE_CXX_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")

set(CMAKE_FIND_ROOT_PATH ${V831_TOOLCHAIN_ROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# the sunxi toolchain ships its musl: OpenWrt toolchains keep it in lib/ of
# the toolchain folder (or of the target sysroot beside bin/)
set(MAIXNN_MUSL_ROOT_HINTS ${V831_TOOLCHAIN_ROOT} ${V831_TOOLCHAIN_ROOT}/arm-openwrt-linux-muslgnueabi)
include("${CMAKE_CURRENT_LIST_DIR}/musl-qemu.cmake")
