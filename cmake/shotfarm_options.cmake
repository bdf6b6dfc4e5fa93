# Warning and sanitizer settings shared by every target (INTERFACE libraries).
add_library(shotfarm_warnings INTERFACE)
target_compile_options(shotfarm_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
    -Wimplicit-fallthrough
    # GCC 12 false positive on Asio coroutine frames (awaitable_frame_base::operator delete).
    -Wno-mismatched-new-delete)
if(SHOTFARM_WERROR)
    target_compile_options(shotfarm_warnings INTERFACE -Werror)
endif()
add_library(shotfarm::warnings ALIAS shotfarm_warnings)

add_library(shotfarm_options INTERFACE)
if(SHOTFARM_SANITIZE)
    target_compile_options(shotfarm_options INTERFACE -fsanitize=address,undefined
        -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(shotfarm_options INTERFACE -fsanitize=address,undefined)
endif()
if(SHOTFARM_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "SHOTFARM_FUZZ needs clang (libFuzzer): configure with "
            "-DCMAKE_CXX_COMPILER=clang++-14 (Debian packages clang-14, libclang-rt-14-dev)")
    endif()
    if(SHOTFARM_SANITIZE)
        message(FATAL_ERROR "SHOTFARM_FUZZ already sanitizes; leave SHOTFARM_SANITIZE off")
    endif()
    # Coverage instrumentation for libFuzzer in every library; the fuzz targets themselves add
    # -fsanitize=fuzzer (the driver's main) at link time.
    target_compile_options(shotfarm_options INTERFACE
        -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
        -fno-sanitize-recover=undefined)
    target_link_options(shotfarm_options INTERFACE -fsanitize=address,undefined)
endif()
# Boost.Asio with coroutines; one io thread, no deprecated interfaces.
target_compile_definitions(shotfarm_options INTERFACE BOOST_ASIO_NO_DEPRECATED
    BOOST_ASIO_DISABLE_BOOST_COROUTINE)
add_library(shotfarm::options ALIAS shotfarm_options)

# shotfarm_room(name [DIR dir] [EXCLUDE regex] PUBLIC_DEPS ... PRIVATE_DEPS ...) — the static
# library of one room: every .cpp under the room's folder (except *_main.cpp and EXCLUDE), so
# adding a file needs no CMake edit.
function(shotfarm_room name)
    cmake_parse_arguments(arg "" "DIR;EXCLUDE" "PUBLIC_DEPS;PRIVATE_DEPS;EXTRA_SOURCES" ${ARGN})
    if(NOT arg_DIR)
        set(arg_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    endif()
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${arg_DIR}/*.cpp)
    list(FILTER sources EXCLUDE REGEX "_main\\.cpp$")
    if(arg_EXCLUDE)
        list(FILTER sources EXCLUDE REGEX "${arg_EXCLUDE}")
    endif()
    list(APPEND sources ${arg_EXTRA_SOURCES})
    if(sources)
        add_library(shotfarm_${name} STATIC ${sources})
        target_include_directories(shotfarm_${name} PUBLIC ${PROJECT_SOURCE_DIR})
        target_link_libraries(shotfarm_${name} PUBLIC shotfarm::options ${arg_PUBLIC_DEPS}
            PRIVATE shotfarm::warnings ${arg_PRIVATE_DEPS})
    else()
        add_library(shotfarm_${name} INTERFACE)
        target_include_directories(shotfarm_${name} INTERFACE ${PROJECT_SOURCE_DIR})
        target_link_libraries(shotfarm_${name} INTERFACE shotfarm::options ${arg_PUBLIC_DEPS})
    endif()
    add_library(shotfarm::${name} ALIAS shotfarm_${name})
endfunction()
