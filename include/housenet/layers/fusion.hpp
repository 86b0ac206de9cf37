// housenet/layers/fusion.hpp: the plan of a chain of layers: which run as one block.
//
// WHAT THIS IS
//   Some runs of layers compute faster as one block than layer by layer (fewer passes over
//   memory), with the same bits. plan_chain(chain, fuse) cuts a chain of set-up, bound layers
//   into the blocks that run it, in order (layers/chain_block.hpp): with fuse, every run that a
//   known pattern matches becomes that pattern's fused block (the first match from the left wins,
//   runs do not overlap); every other layer is a layer_block of its own. A model runs the plan and
//   needs to know no layer kind (graph.hpp). A graph plans each run of its layers that forms a
//   plain chain on its own: first_index is the index of chain[0] among the model's layers, and
//   the blocks' first() count from there.
//
//   Known patterns, each matched by its block's match() next to its code:
//     relu -> batch_norm2d -> max_pool2d on an N x C x H x W input      layers/relu_bn_pool.hpp
//   A match is on the exact classes (a subclass that changes a layer's behaviour is not fused).
//
// REQUIRES  the layers set up (in chain order) and bound; the blocks keep pointers to them.
// THREAD SAFETY: a free function without shared state.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "chain_block.hpp"
#include "layer.hpp"
#include "relu_bn_pool.hpp"

HOUSENET_BEGIN_NAMESPACE

template <class T>
std::vector<std::unique_ptr<chain_block<T>>> plan_chain(const std::vector<layer<T>*>& chain, bool fuse,
                                                      std::size_t first_index = 0) {
  using matcher = std::unique_ptr<chain_block<T>> (*)(const std::vector<layer<T>*>&, std::size_t);
  const matcher patterns[] = {&relu_bn_pool<T>::match};
  std::vector<std::unique_ptr<chain_block<T>>> plan;
  for (std::size_t i = 0; i < chain.size(); i += plan.back()->size()) {
    std::unique_ptr<chain_block<T>> b;
    for (const matcher m : patterns)
      if (fuse && !b) b = m(chain, i);
    if (!b) b = std::make_unique<layer_block<T>>(*chain[i], i);
    b->shift(first_index);
    plan.push_back(std::move(b));
  }
  return plan;
}

HOUSENET_END_NAMESPACE
