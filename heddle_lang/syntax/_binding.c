/* Exposes the generated Heddle parser to py-tree-sitter as a `tree_sitter.Language` capsule. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct TSLanguage TSLanguage;
const TSLanguage *tree_sitter_heddle(void);

static PyObject *language(PyObject *self, PyObject *args) {
  (void)self;
  (void)args;
  return PyCapsule_New((void *)tree_sitter_heddle(), "tree_sitter.Language", NULL);
}

static PyMethodDef methods[] = {
    {"language", language, METH_NOARGS, "The Heddle tree-sitter language, as a capsule."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_binding", "The compiled Heddle tree-sitter parser.", -1, methods,
};

PyMODINIT_FUNC PyInit__binding(void) { return PyModule_Create(&module); }
