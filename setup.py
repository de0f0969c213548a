"""Builds the generated tree-sitter parser into `heddle_lang.syntax._binding` (needs only a C compiler)."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            name="heddle_lang.syntax._binding",
            sources=[
                "heddle_lang/syntax/_binding.c",
                "tree-sitter-heddle/src/parser.c",
                "tree-sitter-heddle/src/scanner.c",
            ],
            include_dirs=["tree-sitter-heddle/src"],
            extra_compile_args=["-std=c11", "-O2"],
        )
    ],
)
