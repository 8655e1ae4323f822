# llmgw_component() makes one library per component and records its declared dependencies,
# which scripts/lint-component-deps.sh compares with the #include lines (a cycle fails there:
# CMake links a cycle of static libraries without complaint).
#
#   llmgw_component(<name> [HEADER_ONLY]
#     [PUBLIC <components>...]    components its headers include (include/llmgw/<name>/)
#     [PRIVATE <components>...]   components only its sources include (src/<name>/)
#     [LINK_PUBLIC <targets>...] [LINK_PRIVATE <targets>...])   external packages
#
# The library is llmgw_<name>, built from src/<name>/*.cpp (INTERFACE when HEADER_ONLY).
function(llmgw_component name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "HEADER_ONLY" "" "PUBLIC;PRIVATE;LINK_PUBLIC;LINK_PRIVATE")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "llmgw_component(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  list(TRANSFORM arg_PUBLIC PREPEND llmgw_ OUTPUT_VARIABLE public_targets)
  list(TRANSFORM arg_PRIVATE PREPEND llmgw_ OUTPUT_VARIABLE private_targets)
  if(arg_HEADER_ONLY)
    if(arg_PRIVATE OR arg_LINK_PRIVATE)
      message(FATAL_ERROR "llmgw_component(${name}): a header-only component has no PRIVATE part")
    endif()
    add_library(llmgw_${name} INTERFACE)
    target_include_directories(llmgw_${name} INTERFACE ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(llmgw_${name} INTERFACE ${public_targets} ${arg_LINK_PUBLIC})
  else()
    file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${name}/*.cpp)
    add_library(llmgw_${name} STATIC ${sources})
    target_include_directories(llmgw_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(llmgw_${name}
      PUBLIC ${public_targets} ${arg_LINK_PUBLIC}
      PRIVATE ${private_targets} ${arg_LINK_PRIVATE} llmgw_warnings)
  endif()
  # One line per component: name|public components|private components.
  list(JOIN arg_PUBLIC " " public_line)
  list(JOIN arg_PRIVATE " " private_line)
  set_property(GLOBAL APPEND PROPERTY LLMGW_COMPONENT_GRAPH "${name}|${public_line}|${private_line}")
  set_property(GLOBAL APPEND PROPERTY LLMGW_COMPONENTS llmgw_${name})
endfunction()

# Writes the declared graph for the lint (only when it changed).
function(llmgw_write_component_graph file)
  get_property(lines GLOBAL PROPERTY LLMGW_COMPONENT_GRAPH)
  list(JOIN lines "\n" text)
  file(CONFIGURE OUTPUT ${file} CONTENT "${text}\n" @ONLY)
endfunction()
