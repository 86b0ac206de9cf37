# Fashion-MNIST (Debian: dataset-fashion-mnist, /usr/share/datasets/fashion-mnist): the real files
# read and checked (test_fashion_mnist_data), and examples/fashion_mnist trained for one epoch on
# 2,000 images (fashion_mnist_train). Both are reported as skipped when the data set is absent
# (test_fashion_mnist_data through tests/CMakeLists.txt's HOUSENET_TESTS_THAT_SKIP).
# Included by tests/CMakeLists.txt.
set(HOUSENET_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist" CACHE PATH
    "Fashion-MNIST's IDX files (optional; the tests that need them skip without)")
if(TARGET test_fashion_mnist_data)
  # (reported as skipped through tests/support.hpp: HOUSENET_TESTS_THAT_SKIP in CMakeLists.txt)
  target_compile_definitions(test_fashion_mnist_data PRIVATE
    HOUSENET_FASHION_MNIST_DIR="${HOUSENET_FASHION_MNIST_DIR}")
endif()
if(HOUSENET_BUILD_EXAMPLES AND EXISTS ${PROJECT_SOURCE_DIR}/examples/CMakeLists.txt)
  find_program(HOUSENET_BASH bash)
  if(HOUSENET_BASH)
    add_test(NAME fashion_mnist_train
      COMMAND ${HOUSENET_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/fashion_mnist_e2e.sh
              $<TARGET_FILE:fashion_mnist> ${HOUSENET_FASHION_MNIST_DIR} ${CMAKE_CURRENT_BINARY_DIR}/fashion_mnist_e2e)
    set_tests_properties(fashion_mnist_train PROPERTIES TIMEOUT 600 SKIP_RETURN_CODE 77)
  endif()
endif()
