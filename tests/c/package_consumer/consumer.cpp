// A consumer of the installed package: segments a bright sphere from one point through the C++
// binding, with ONNX Runtime taken from the path the package exports (NNI_PACKAGE_ONNXRUNTIME:
// the CMake package's NNI_ONNXRUNTIME_LIBRARY property, or pkg-config's onnxruntime_library).
//
//   consumer MODEL.onnx        exits 0 when the Dice score against the sphere is >= 0.95
#include <nninteractive.hpp>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

#ifndef NNI_PACKAGE_ONNXRUNTIME
#error "define NNI_PACKAGE_ONNXRUNTIME (the package's ONNX Runtime library)"
#endif

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s MODEL.onnx\n", argv[0]);
        return 2;
    }
    try {
        nni::runtime_init(NNI_PACKAGE_ONNXRUNTIME);
        nni::Session session(argv[1], nni::Device::Cpu, 1);

        const int n = 40, c = 20, r = 8;
        std::vector<int16_t> image(size_t(n) * n * n);
        std::vector<uint8_t> truth(image.size());
        for (int k = 0; k < n; ++k)
            for (int j = 0; j < n; ++j)
                for (int i = 0; i < n; ++i) {
                    const size_t x = size_t(i) + size_t(n) * (size_t(j) + size_t(n) * size_t(k));
                    const bool in = (i - c) * (i - c) + (j - c) * (j - c) + (k - c) * (k - c) <= r * r;
                    image[x] = int16_t(in ? 900 + (i + j + k) % 7 : 80 + (i * j + k) % 11);
                    truth[x] = in;
                }
        session.set_image(image, {n, n, n}, {0.9, 0.9, 1.5});
        session.add_point({c, c, c});
        const std::vector<uint8_t> mask = session.get_mask();

        size_t inter = 0, sum = 0;
        for (size_t x = 0; x < mask.size(); ++x) {
            inter += mask[x] && truth[x];
            sum += size_t(mask[x] != 0) + size_t(truth[x] != 0);
        }
        const double dice = sum == 0 ? 0.0 : 2.0 * double(inter) / double(sum);
        std::printf("consumer: nninteractive %s, ONNX Runtime %s, Dice %.4f\n",
                    nni::version().c_str(), NNI_PACKAGE_ONNXRUNTIME, dice);
        return dice >= 0.95 ? 0 : 1;
    } catch (const nni::Error &e) {
        std::fprintf(stderr, "consumer: %s\n", e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "consumer: %s\n", e.what());
    }
    return 1;
}
