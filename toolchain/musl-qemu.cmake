# Included by the musl toolchain files (v831-musl.cmake, zig-armv7-musl.cmake):
# when qemu-arm is installed, CMAKE_CROSSCOMPILING_EMULATOR runs the armv7 musl
# programs it builds (ctest, add_custom_command(COMMAND <target>)).
#
# A static musl program runs under plain `qemu-arm`.  A dynamic one (anything
# linking libmaixnn.so) asks for the musl loader /lib/ld-musl-armhf.so.1, which
# the board has and this machine usually has not: qemu-arm -L ROOT makes it look
# for it under ROOT first.  ROOT, first one found:
#   -DMUSL_ARMHF_ROOT=... or the environment variable MUSL_ARMHF_ROOT;
#   MAIXNN_MUSL_ROOT_HINTS (a list the including file sets, e.g. the sunxi
#   toolchain's own folder);
#   /opt/musl-armhf (Debian's musl:armhf unpacked there:
#       apt-get download musl:armhf && dpkg-deb -x musl_*_armhf.deb /opt/musl-armhf);
#   / (musl:armhf installed with apt-get).
# Without a loader the emulator is plain qemu-arm (static programs only).

if(NOT MUSL_ARMHF_ROOT AND DEFINED ENV{MUSL_ARMHF_ROOT} AND NOT "$ENV{MUSL_ARMHF_ROOT}" STREQUAL "")
  set(MUSL_ARMHF_ROOT "$ENV{MUSL_ARMHF_ROOT}")
endif()
if(NOT MUSL_ARMHF_ROOT)
  foreach(_root ${MAIXNN_MUSL_ROOT_HINTS} /opt/musl-armhf /)
    if(EXISTS "${_root}/lib/ld-musl-armhf.so.1")
      set(MUSL_ARMHF_ROOT "${_root}")
      break()
    endif()
  endforeach()
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES MUSL_ARMHF_ROOT)

find_program(MAIXNN_QEMU_ARM qemu-arm)
if(MAIXNN_QEMU_ARM)
  if(MUSL_ARMHF_ROOT)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${MAIXNN_QEMU_ARM} -L ${MUSL_ARMHF_ROOT})
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR ${MAIXNN_QEMU_ARM})
  endif()
endif()
