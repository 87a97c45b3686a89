// NN: modules, layers, losses and optimisers built on TensorCore.
