# The board's dist/ folder (issue 7 item 5), in libmaix's layout: configure with
# -DMAIXNN_DIST=ON and `cmake --install` (or build the `dist` target) writes
#
#   start_app.sh           sets LD_LIBRARY_PATH to its own lib/ and starts the app
#   nn_resnet              the app (MAIXNN_DIST_APP)
#   lib/libmaixnn.so       the engine
#   lib/libmaix_nn.so      libmaix's nn API on it (emu backend), or with the awnn
#                          backend Sipeed's libraries from LIBMAIX_DIR (every .so there)
#   model/                 MAIXNN_DIST_MODEL: the .mud and the .param/.bin it names,
#                          labels.txt (MAIXNN_DIST_LABELS)
#   python/maixnn/         the board-side Python package (python/maixnn/board_modules.txt)
#                          with its own copy of libmaixnn.so (the FAT-visible /root
#                          partition has no symlinks): PYTHONPATH=<dist>/python
#
# Options (cache variables):
#   MAIXNN_DIST_MODEL     a .mud whose [basic] param/bin are plain file names in
#                         the .mud's folder (what `maixnn quantize` writes); empty:
#                         no model/ (give nn_resnet -m yourself)
#   MAIXNN_DIST_LABELS    labels, one per line (default: ImageNet's 1000)
#   MAIXNN_DIST_APP_ARGS  further nn_resnet options for start_app.sh, a CMake list
#                         (e.g. "-s;64x64;-c;10" for a 64x64, 10-class model)
#   MAIXNN_DIST_DIR       where the `dist` target installs (default <build>/dist)
# `maixnn pack` (python/maixnn/packer.py) sets all of these from a model.
#
# Everything the programs load is in lib/: the engine and the libmaix library
# need only the C library (musl's libc.so = /lib/ld-musl-armhf.so.1 on the board).

set(MAIXNN_DIST_APP nn_resnet)
set(MAIXNN_DIST_MODEL "" CACHE FILEPATH "model for dist/: a .mud with its .param/.bin beside it")
set(MAIXNN_DIST_LABELS "${PROJECT_SOURCE_DIR}/examples/nn_resnet/imagenet_labels.txt" CACHE FILEPATH
    "labels for dist/model/labels.txt")
set(MAIXNN_DIST_APP_ARGS "" CACHE STRING "further nn_resnet options written into start_app.sh (a CMake list)")
set(MAIXNN_DIST_DIR "${CMAKE_BINARY_DIR}/dist" CACHE PATH "folder the `dist` target installs into")
if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT)
  set(CMAKE_INSTALL_PREFIX "${MAIXNN_DIST_DIR}" CACHE PATH "install prefix (the dist folder)" FORCE)
endif()

if(NOT TARGET ${MAIXNN_DIST_APP} OR NOT TARGET maix_nn)
  message(FATAL_ERROR "MAIXNN_DIST needs the targets ${MAIXNN_DIST_APP} and maix_nn (MAIXNN_BUILD_BOARD=ON)")
endif()

# start_app.sh's arguments for the app: the model and labels in model/, then the
# user's.  "$DIST_DIR" is the script's own folder (see cmake/start_app.sh.in).
set(_args "")
if(MAIXNN_DIST_MODEL)
  if(NOT MAIXNN_DIST_MODEL MATCHES "\\.mud$" OR NOT EXISTS "${MAIXNN_DIST_MODEL}")
    message(FATAL_ERROR "MAIXNN_DIST_MODEL=${MAIXNN_DIST_MODEL}: expected an existing .mud file")
  endif()
  get_filename_component(_mud_dir "${MAIXNN_DIST_MODEL}" DIRECTORY)
  get_filename_component(_mud_name "${MAIXNN_DIST_MODEL}" NAME)
  # the .mud is copied as it is: the files it names must be plain names beside it
  file(STRINGS "${MAIXNN_DIST_MODEL}" _mud_lines REGEX "^[ \t]*(param|bin)[ \t]*=")
  set(_model_files "${MAIXNN_DIST_MODEL}")
  foreach(_line IN LISTS _mud_lines)
    string(REGEX REPLACE "^[ \t]*(param|bin)[ \t]*=[ \t]*([^ \t]*)[ \t]*$" "\\2" _file "${_line}")
    if(_file MATCHES "/" OR NOT EXISTS "${_mud_dir}/${_file}")
      message(FATAL_ERROR "MAIXNN_DIST_MODEL=${MAIXNN_DIST_MODEL} names '${_file}': dist/ needs a .mud whose "
                          "param/bin are files beside it (maixnn pack rewrites any .mud that way)")
    endif()
    list(APPEND _model_files "${_mud_dir}/${_file}")
  endforeach()
  list(LENGTH _model_files _count)
  if(NOT _count EQUAL 3)
    message(FATAL_ERROR "MAIXNN_DIST_MODEL=${MAIXNN_DIST_MODEL}: expected one param= and one bin= in [basic]")
  endif()
  install(FILES ${_model_files} DESTINATION model)
  string(APPEND _args " -m \"$DIST_DIR/model/${_mud_name}\"")
endif()
if(MAIXNN_DIST_LABELS)
  install(FILES "${MAIXNN_DIST_LABELS}" DESTINATION model RENAME labels.txt)
  string(APPEND _args " -l \"$DIST_DIR/model/labels.txt\"")
endif()
foreach(_arg IN LISTS MAIXNN_DIST_APP_ARGS)
  string(REPLACE "'" "'\\''" _arg "${_arg}")
  string(APPEND _args " '${_arg}'")
endforeach()
string(STRIP "${_args}" MAIXNN_DIST_APP_ARGS_TEXT)
configure_file("${CMAKE_CURRENT_LIST_DIR}/start_app.sh.in" "${CMAKE_BINARY_DIR}/dist-files/start_app.sh" @ONLY)

install(PROGRAMS "${CMAKE_BINARY_DIR}/dist-files/start_app.sh" DESTINATION .)
install(TARGETS ${MAIXNN_DIST_APP} RUNTIME DESTINATION .)
install(TARGETS maixnn LIBRARY DESTINATION lib RUNTIME DESTINATION lib)
get_target_property(_maix_nn_imported maix_nn IMPORTED)
if(_maix_nn_imported)
  # awnn backend: Sipeed's prebuilt libmaix_nn.so and everything beside it (the
  # camera, display and image libraries, the vendor's mpp/ISP libraries they
  # load), as libmaix's own dist/lib holds them
  get_target_property(_vendor_lib maix_nn IMPORTED_LOCATION)
  get_filename_component(_vendor_dir "${_vendor_lib}" DIRECTORY)
  install(DIRECTORY "${_vendor_dir}/" DESTINATION lib FILES_MATCHING PATTERN "*.so" PATTERN "*.so.*")
  set(_dist_depends ${MAIXNN_DIST_APP} maixnn)
else()
  install(TARGETS maix_nn LIBRARY DESTINATION lib RUNTIME DESTINATION lib)
  set(_dist_depends ${MAIXNN_DIST_APP} maixnn maix_nn)
endif()

# the board-side Python package and the library it dlopens next to runtime.py
file(STRINGS "${PROJECT_SOURCE_DIR}/python/maixnn/board_modules.txt" _modules REGEX "^[A-Za-z_]")
set(_py_files "")
foreach(_module IN LISTS _modules)
  list(APPEND _py_files "${PROJECT_SOURCE_DIR}/python/maixnn/${_module}.py")
endforeach()
install(FILES ${_py_files} DESTINATION python/maixnn)
install(TARGETS maixnn LIBRARY DESTINATION python/maixnn RUNTIME DESTINATION python/maixnn)

add_custom_target(dist
  COMMAND ${CMAKE_COMMAND} --install "${CMAKE_BINARY_DIR}" --prefix "${MAIXNN_DIST_DIR}"
  DEPENDS ${_dist_depends}
  COMMENT "Installing the board's dist/ into ${MAIXNN_DIST_DIR}"
  VERBATIM)
