# llmcache_optional_dependency(<NAME>
#     [PACKAGE <find_package arguments...>]  # a CMake package, e.g. OpenSSL COMPONENTS Crypto
#     [TARGETS <imported targets...>]        # what llmcache links when enabled (with PACKAGE)
#     PKG_CONFIG <modules...>                # pkg-config modules: Requires of llmcache.pc, and the
#                                            # lookup itself when there is no usable CMake package
#     DEBIAN_PACKAGE <name>                  # named in error messages
#     DESCRIPTION <text>)
#
# Declares the cache option LLMCACHE_WITH_<NAME>, defaulting to ON when the dependency is found.
# When ON, the llmcache INTERFACE target links the dependency and carries the compile definition
# LLMCACHE_WITH_<NAME>=1, so every consumer (add_subdirectory, FetchContent, find_package) sees the
# same macro as the tests. It also records what the installed package needs: a find_dependency()
# line for llmcacheConfig.cmake and a Requires entry for llmcache.pc (only for enabled backends).
#
# Adding a backend is one call in CMakeLists.txt. The calls for the planned backends:
#   llmcache_optional_dependency(CURL PACKAGE CURL TARGETS CURL::libcurl PKG_CONFIG libcurl
#       DEBIAN_PACKAGE libcurl4-openssl-dev DESCRIPTION "HTTP backends and Upstash over libcurl")
#   llmcache_optional_dependency(SIMDJSON PACKAGE simdjson CONFIG TARGETS simdjson::simdjson
#       PKG_CONFIG simdjson DEBIAN_PACKAGE libsimdjson-dev DESCRIPTION "JSON parsing via simdjson")
include_guard(GLOBAL)

function(llmcache_optional_dependency name)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "DEBIAN_PACKAGE;DESCRIPTION" "PACKAGE;TARGETS;PKG_CONFIG")
    if(NOT arg_PKG_CONFIG OR NOT arg_DEBIAN_PACKAGE)
        message(FATAL_ERROR "llmcache_optional_dependency(${name}): PKG_CONFIG and DEBIAN_PACKAGE are required")
    endif()
    set(option_name LLMCACHE_WITH_${name})
    string(TOLOWER "${name}" lower_name)

    # Only look the dependency up when the option is not already switched off.
    set(found FALSE)
    if(NOT DEFINED ${option_name} OR ${option_name})
        if(arg_PACKAGE)
            if(NOT arg_TARGETS)
                message(FATAL_ERROR "llmcache_optional_dependency(${name}): PACKAGE needs TARGETS")
            endif()
            list(GET arg_PACKAGE 0 package_name)
            # Targets that already exist were created by a parent project and are visible to it.
            set(new_targets "")
            foreach(target IN LISTS arg_TARGETS)
                if(NOT TARGET ${target})
                    list(APPEND new_targets ${target})
                endif()
            endforeach()
            find_package(${arg_PACKAGE} QUIET)
            if(${package_name}_FOUND)
                set(found TRUE)
                foreach(target IN LISTS arg_TARGETS)
                    if(NOT TARGET ${target})
                        set(found FALSE)
                    endif()
                endforeach()
            endif()
            # Imported targets are directory-scoped: promote the ones we created, or a parent that
            # add_subdirectory()s us could not resolve them when it links llmcache::llmcache.
            if(found)
                foreach(target IN LISTS new_targets)
                    set_target_properties(${target} PROPERTIES IMPORTED_GLOBAL TRUE)
                endforeach()
            endif()
            set(link_targets ${arg_TARGETS})
            string(REPLACE ";" " " find_args "${arg_PACKAGE}")
            set(config_code "find_dependency(${find_args})")
        else()
            set(prefix llmcache_${lower_name})
            find_package(PkgConfig QUIET)
            if(PkgConfig_FOUND)
                pkg_check_modules(${prefix} QUIET IMPORTED_TARGET GLOBAL ${arg_PKG_CONFIG})
                if(${prefix}_FOUND)
                    set(found TRUE)
                endif()
            endif()
            set(link_targets PkgConfig::${prefix})
            string(REPLACE ";" " " modules "${arg_PKG_CONFIG}")
            set(config_code
                "find_dependency(PkgConfig)\nif(NOT TARGET PkgConfig::${prefix})\n    pkg_check_modules(${prefix} REQUIRED QUIET IMPORTED_TARGET ${modules})\nendif()")
        endif()
    endif()

    option(${option_name} "${arg_DESCRIPTION} (Debian: ${arg_DEBIAN_PACKAGE})" ${found})
    if(NOT ${option_name})
        set_property(GLOBAL APPEND PROPERTY LLMCACHE_DISABLED_FEATURES ${option_name})
        return()
    endif()
    if(NOT found)
        message(FATAL_ERROR
            "llmcache: ${option_name} is ON but its dependency was not found.\n"
            "Install it (Debian/Ubuntu: apt-get install ${arg_DEBIAN_PACKAGE}) or configure with -D${option_name}=OFF.")
    endif()

    target_link_libraries(llmcache INTERFACE ${link_targets})
    target_compile_definitions(llmcache INTERFACE ${option_name}=1)
    set_property(GLOBAL APPEND PROPERTY LLMCACHE_ENABLED_FEATURES ${option_name})
    set_property(GLOBAL APPEND PROPERTY LLMCACHE_CONFIG_DEPENDENCIES "${config_code}")
    set_property(GLOBAL APPEND PROPERTY LLMCACHE_PC_REQUIRES ${arg_PKG_CONFIG})
endfunction()
