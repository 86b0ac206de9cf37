// housenet/sequential.hpp: sequential<T>, a chain of layers: the graph (graph.hpp) in which every
// layer reads the previous one's output.
//
// WHAT THIS IS
//   The simple model, and the common one: add() layers one after the other, setup(), train.
//
//     sequential<float> net;
//     net.add<conv2d<float>>(16, 3);  net.add<relu<float>>();  net.add<linear<float>>(4);
//     net.setup(shape{1, 3, 32, 32}, /*seed=*/1);
//
//   sequential<T> is graph<T> (one class, one arena, one training API, one model file): a chain
//   is the special case of a graph built by add<L>(args...) alone. graph.hpp is the reference for
//   every member; a model that needs residual additions, concatenations or branches uses the same
//   class with add<L>(from{...}, args...) and reads best declared as graph<T>.
#pragma once

#include "graph.hpp"  // declares `template <class T> using sequential = graph<T>;`
