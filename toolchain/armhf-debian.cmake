# CMake toolchain file: Debian's armhf cross compiler, tuned like the V831 build.
#
#   cmake -S . -B build/armhf -DCMAKE_TOOLCHAIN_FILE=toolchain/armhf-debian.cmake
#   cmake --build build/armhf -j2
#
# Needs `apt-get install gcc-arm-linux-gnueabihf qemu-user`.  The binaries are
# glibc armv7 programs, not musl ones, so they do not run on the board; what
# this proves is that the engine compiles warning-free for armv7-a + NEON/VFPv4
# hard-float and computes the same numbers there (tests/test_arm.py runs them
# under qemu-arm).  CMAKE_CROSSCOMPILING_EMULATOR makes `ctest` and
# add_custom_command(... COMMAND <target>) run them through qemu as well.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)

set(ARMHF_PREFIX arm-linux-gnueabihf-)
set(CMAKE_C_COMPILER ${ARMHF_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${ARMHF_PREFIX}g++)

# The same code generation as the board build (toolchain/v831-musl.cmake):
# Cortex-A7 = armv7-a with NEON and VFPv4, hard-float ABI.
# _FILE_OFFSET_BITS=64: musl (the board's libc) has only 64-bit off_t/ino_t;
# 32-bit glibc defaults to 32-bit ones, and under qemu-arm on a 64-bit kernel
# readdir() then fails with EOVERFLOW on ext4's 64-bit directory offsets
# (tests/c/corpus_test saw empty directories).
set(CMAKE_C_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard -D_FILE_OFFSET_BITS=64")
set(CMAKE_CXX_FLAGS_INIT "-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard -D_FILE_OFFSET_BITS=64")

# Debian installs the armhf libc, libm and the dynamic loader here.
set(ARMHF_SYSROOT /usr/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH ${ARMHF_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm -L ${ARMHF_SYSROOT})
