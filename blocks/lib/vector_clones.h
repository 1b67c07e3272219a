/*
 * SCOS_VECTOR_CLONES: compile a loop twice, with AVX2 and without, and let the dynamic loader
 * pick the copy the CPU can run (GCC's target_clones, glibc's ifunc). The blocks' loops are
 * built once for any x86-64 machine, so they cannot assume AVX2 at compile time.
 */
#ifndef SCOS_VECTOR_CLONES_H
#define SCOS_VECTOR_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SCOS_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SCOS_VECTOR_CLONES
#endif

#endif
