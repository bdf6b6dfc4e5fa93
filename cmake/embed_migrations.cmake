# Generates a C++ source holding every schemas/sql/NNNN_name.sql, so the binary carries its own
# schema and never looks for files at run time. Invoked by jobs/CMakeLists.txt at build time.
# Inputs: SQL_DIR, OUTPUT.
file(GLOB sql_files "${SQL_DIR}/*.sql")
list(SORT sql_files)
set(body "")
foreach(f ${sql_files})
    get_filename_component(name "${f}" NAME_WE)
    string(REGEX MATCH "^[0-9]+" version "${name}")
    if(NOT version)
        message(FATAL_ERROR "migration file name must start with a version number: ${f}")
    endif()
    math(EXPR version "${version}")
    file(READ "${f}" sql)
    string(APPEND body "        {${version}, \"${name}\", R\"shotfarm_sql(${sql})shotfarm_sql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from schemas/sql by cmake/embed_migrations.cmake. Do not edit.\n"
    "#include \"jobs/engine/migrations.hpp\"\n\n"
    "namespace shotfarm::jobs {\n\n"
    "const std::vector<pg::migration>& schema_migrations() {\n"
    "    static const std::vector<pg::migration> all = {\n${body}    };\n"
    "    return all;\n}\n\n}  // namespace shotfarm::jobs\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
