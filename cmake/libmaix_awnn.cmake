# MAIXNN_LIBMAIX_BACKEND=awnn: Sipeed's prebuilt libmaix (the V831 NPU) from
# a user's sipeed/libmaix checkout, -DLIBMAIX_DIR=<checkout>:
#   <LIBMAIX_DIR>/components/libmaix/include/            libmaix_nn.h, mud.h, libmaix_cam.h, ...
#   <LIBMAIX_DIR>/components/libmaix/lib/arch/<LIBMAIX_ARCH>/   libmaix_nn.so, libmaix_cam.so, ...
# Defines the imported targets maix_nn (as the emu backend's library is
# named) and libmaix::cam, ::disp, ::image, ::utils.  Anything missing is a
# configure-time error naming what and where.

set(LIBMAIX_DIR "" CACHE PATH "A sipeed/libmaix checkout (MAIXNN_LIBMAIX_BACKEND=awnn)")
set(LIBMAIX_ARCH "v831" CACHE STRING "libmaix's folder of prebuilt libraries: components/libmaix/lib/arch/<this>")

if(NOT LIBMAIX_DIR)
  message(FATAL_ERROR "MAIXNN_LIBMAIX_BACKEND=awnn links Sipeed's prebuilt libmaix libraries: give a "
                      "sipeed/libmaix checkout with -DLIBMAIX_DIR=<path> (or use -DMAIXNN_LIBMAIX_BACKEND=emu)")
endif()
get_filename_component(_libmaix_dir "${LIBMAIX_DIR}" ABSOLUTE)
set(_libmaix_inc "${_libmaix_dir}/components/libmaix/include")
set(_libmaix_lib "${_libmaix_dir}/components/libmaix/lib/arch/${LIBMAIX_ARCH}")

set(_libmaix_missing "")
foreach(_h libmaix_nn.h libmaix_err.h mud.h libmaix_cam.h libmaix_disp.h libmaix_image.h)
  if(NOT EXISTS "${_libmaix_inc}/${_h}")
    string(APPEND _libmaix_missing "\n  header  ${_libmaix_inc}/${_h}")
  endif()
endforeach()
foreach(_l nn cam disp image utils)
  if(NOT EXISTS "${_libmaix_lib}/libmaix_${_l}.so")
    string(APPEND _libmaix_missing "\n  library ${_libmaix_lib}/libmaix_${_l}.so")
  endif()
endforeach()
if(_libmaix_missing)
  message(FATAL_ERROR "MAIXNN_LIBMAIX_BACKEND=awnn: LIBMAIX_DIR=${LIBMAIX_DIR} is not a libmaix checkout with "
                      "prebuilt ${LIBMAIX_ARCH} libraries; missing:${_libmaix_missing}")
endif()

# The vendor libraries need each other (and the mpp/ISP libraries beside
# them): -rpath-link lets the linker find them there.  IMPORTED_NO_SONAME: link
# by name (-lmaix_nn), so the binary asks for libmaix_nn.so, found at run time
# through LD_LIBRARY_PATH (dist/start_app.sh).
foreach(_l nn cam disp image utils)
  if(_l STREQUAL "nn")
    set(_target maix_nn)
  else()
    set(_target libmaix::${_l})
  endif()
  add_library(${_target} SHARED IMPORTED GLOBAL)
  set_target_properties(${_target} PROPERTIES
    IMPORTED_LOCATION "${_libmaix_lib}/libmaix_${_l}.so"
    IMPORTED_NO_SONAME TRUE
    INTERFACE_INCLUDE_DIRECTORIES "${_libmaix_inc}"
    INTERFACE_LINK_OPTIONS "-Wl,-rpath-link,${_libmaix_lib}")
endforeach()
message(STATUS "libmaix (awnn backend): ${_libmaix_inc}, ${_libmaix_lib}")
