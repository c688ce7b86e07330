# cmake -DIN=<binary file> -DOUT=<C file> -P embed_descriptor.cmake
# Writes IN as `const unsigned char gs_vecstore_descriptor_set[]` (+ its length) into OUT.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n_hex)
math(EXPR n_bytes "${n_hex} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" body "${body}")
file(WRITE ${OUT}
  "/* Generated from proto/vecstore.proto by src/grpc/embed_descriptor.cmake: do not edit. */\n"
  "#include <stddef.h>\n"
  "const unsigned char gs_vecstore_descriptor_set[] = {\n${body}\n};\n"
  "const size_t gs_vecstore_descriptor_set_len = ${n_bytes};\n")
