# CMake toolchain file: zig's C compiler as a musl cross compiler for the V831
# (Sipeed MaixII-Dock: Cortex-A7, armv7-a, NEON + VFPv4, hard-float, musl libc),
# for users who do not want Sipeed's 2017 toolchain.  All it needs:
#
#   pip install ziglang
#   cmake -S . -B build/zig -DCMAKE_TOOLCHAIN_FILE=toolchain/zig-armv7-musl.cmake
#   cmake --build build/zig -j2
#
# zig cc -target arm-linux-musleabihf -mcpu=cortex_a7 is a clang with musl built
# in: no sysroot.  Programs that link only static libraries are static and run
# on the board and under plain qemu-arm; programs linking a .so (libmaixnn.so)
# are dynamic and use the musl loader /lib/ld-musl-armhf.so.1 the board has
# (under qemu see musl-qemu.cmake).  The first compile per optimisation level
# takes about a minute: zig builds musl into its cache (~/.cache/zig).
#
# The zig executable, first one found: -DZIG=..., the environment variable ZIG,
# the `ziglang` package of -DMAIXNN_PYTHON=... (or of the python3 on PATH),
# `zig` on PATH.  CMake needs one executable per tool, so this file writes small
# wrapper scripts (zig cc / zig c++ / zig ar / zig ranlib with the target) into
# the build folder and uses them as the compilers.
#
# Pitfalls handled here (see README "Building for the board"):
#  * zig links its UBSan runtime into builds without -O, which needs symbols
#    the board's musl may lack: -fno-sanitize=undefined always.
#  * zig refuses -march=armv7-a / -mcpu=cortex-a7: the CPU is given only as
#    -mcpu=cortex_a7 in the wrappers.
#  * `zig objcopy --strip-all` does not work for 32-bit ARM: Release builds are
#    stripped at link time (-s); CMAKE_STRIP is llvm-strip when installed.
#  * zig links its own expf/logf, which differ from glibc's and musl's by an
#    ulp on some inputs: float results may differ from the host by a few ulps
#    (int8 results are exact).

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)

set(MAIXNN_ZIG_TARGET arm-linux-musleabihf)
set(MAIXNN_ZIG_CPU cortex_a7)

if(NOT ZIG AND DEFINED ENV{ZIG} AND NOT "$ENV{ZIG}" STREQUAL "")
  set(ZIG "$ENV{ZIG}")
endif()
if(NOT ZIG)
  if(MAIXNN_PYTHON)
    set(_zig_python "${MAIXNN_PYTHON}")
  else()
    find_program(_zig_python NAMES python3 python)
  endif()
  if(_zig_python)
    execute_process(
      COMMAND "${_zig_python}" -c "import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), 'zig'))"
      OUTPUT_VARIABLE _zig_from_python OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _zig_rc)
    if(_zig_rc EQUAL 0 AND EXISTS "${_zig_from_python}")
      set(ZIG "${_zig_from_python}")
    endif()
  endif()
endif()
if(NOT ZIG)
  find_program(_zig_on_path zig)
  if(_zig_on_path)
    set(ZIG "${_zig_on_path}")
  endif()
endif()
if(NOT ZIG OR NOT EXISTS "${ZIG}")
  message(FATAL_ERROR "zig-armv7-musl.cmake: no zig executable found (ZIG='${ZIG}'); "
                      "run `pip install ziglang` for the python3 on PATH, or pass -DZIG=/path/to/zig "
                      "or -DMAIXNN_PYTHON=/path/to/python-with-ziglang")
endif()
# try_compile projects read this file again: hand them the same choice
set(ZIG "${ZIG}" CACHE FILEPATH "zig executable (pip install ziglang)")

# The wrappers live in the top build folder; a try_compile project (whose
# CMAKE_BINARY_DIR is its own scratch folder) reuses the ones written there.
if(NOT MAIXNN_ZIG_WRAPPERS)
  set(MAIXNN_ZIG_WRAPPERS "${CMAKE_BINARY_DIR}/zig-armv7-musl")
endif()
set(MAIXNN_ZIG_WRAPPERS "${MAIXNN_ZIG_WRAPPERS}" CACHE PATH "zig wrapper scripts (written by the toolchain file)")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES ZIG MAIXNN_ZIG_WRAPPERS)

function(_maixnn_zig_wrapper name command)
  set(_dest "${MAIXNN_ZIG_WRAPPERS}/${name}")
  set(_text "#!/bin/sh\n# written by toolchain/zig-armv7-musl.cmake\nexec \"${ZIG}\" ${command} \"$@\"\n")
  if(EXISTS "${_dest}")
    file(READ "${_dest}" _old)
    if(_old STREQUAL _text)
      return()
    endif()
  endif()
  # written next to the destination, then copied with the execute bit
  file(WRITE "${MAIXNN_ZIG_WRAPPERS}/tmp/${name}" "${_text}")
  file(COPY "${MAIXNN_ZIG_WRAPPERS}/tmp/${name}" DESTINATION "${MAIXNN_ZIG_WRAPPERS}"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  file(REMOVE "${MAIXNN_ZIG_WRAPPERS}/tmp/${name}")
endfunction()
_maixnn_zig_wrapper(cc "cc -target ${MAIXNN_ZIG_TARGET} -mcpu=${MAIXNN_ZIG_CPU}")
_maixnn_zig_wrapper(c++ "c++ -target ${MAIXNN_ZIG_TARGET} -mcpu=${MAIXNN_ZIG_CPU}")
_maixnn_zig_wrapper(ar "ar")
_maixnn_zig_wrapper(ranlib "ranlib")

set(CMAKE_C_COMPILER "${MAIXNN_ZIG_WRAPPERS}/cc")
set(CMAKE_CXX_COMPILER "${MAIXNN_ZIG_WRAPPERS}/c++")
set(CMAKE_AR "${MAIXNN_ZIG_WRAPPERS}/ar" CACHE FILEPATH "")
set(CMAKE_RANLIB "${MAIXNN_ZIG_WRAPPERS}/ranlib" CACHE FILEPATH "")
find_program(MAIXNN_LLVM_STRIP NAMES llvm-strip llvm-strip-19 llvm-strip-18 llvm-strip-17 llvm-strip-16
                                     llvm-strip-15 llvm-strip-14)
if(MAIXNN_LLVM_STRIP)
  set(CMAKE_STRIP "${MAIXNN_LLVM_STRIP}" CACHE FILEPATH "")
endif()

set(CMAKE_C_FLAGS_INIT "-fno-sanitize=undefined")
set(CMAKE_CXX_FLAGS_INIT "-fno-sanitize=undefined")
foreach(_kind EXE SHARED MODULE)
  set(CMAKE_${_kind}_LINKER_FLAGS_RELEASE_INIT "-s")
  set(CMAKE_${_kind}_LINKER_FLAGS_MINSIZEREL_INIT "-s")
endforeach()

# nothing to search on the host: zig brings musl's headers and libraries
set(CMAKE_FIND_ROOT_PATH "${MAIXNN_ZIG_WRAPPERS}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

include("${CMAKE_CURRENT_LIST_DIR}/musl-qemu.cmake")
