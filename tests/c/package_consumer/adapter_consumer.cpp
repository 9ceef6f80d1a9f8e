// A consumer of the installed package's viewer adapters: the toolkit-free tool engine
// (nninteractive/adapters/common/nninteractive_segmenter.hpp, what the MITK and Slicer engines
// wrap) segments a bright sphere in an oblique, anisotropic image from one world click, and
// commits it into a label buffer. Built from the installed prefix alone (target
// nninteractive::adapters), with ONNX Runtime from the path the package exports.
//
//   adapter_consumer MODEL.onnx    exits 0 when the committed label's Dice is >= 0.95
#include <nninteractive/adapters/common/nninteractive_segmenter.hpp>

#include <cmath>
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
        nni::SessionOptions options;
        options.model_path = argv[1];
        options.device = nni::Device::Cpu;
        options.num_threads = 1;
        nni::edit::Segmenter<uint8_t> seg(options);

        const int n = 40, c = 20, r = 8;
        const double s = std::sqrt(0.5); // 45 degrees about k
        const nni::geom::Geometry g({uint64_t(n), uint64_t(n), uint64_t(n)}, {0.9, 0.9, 1.5},
                                    {10.0, -5.0, 3.0}, {s, -s, 0.0, s, s, 0.0, 0.0, 0.0, 1.0});
        std::vector<int16_t> image(g.voxel_count());
        std::vector<uint8_t> truth(image.size()), labels(image.size()), preview(image.size());
        for (int k = 0; k < n; ++k)
            for (int j = 0; j < n; ++j)
                for (int i = 0; i < n; ++i) {
                    const size_t x = size_t(i) + size_t(n) * (size_t(j) + size_t(n) * size_t(k));
                    const bool in = (i - c) * (i - c) + (j - c) * (j - c) + (k - c) * (k - c) <= r * r;
                    image[x] = int16_t(in ? 900 + (i + j + k) % 7 : 80 + (i * j + k) % 11);
                    truth[x] = in;
                }
        seg.session().set_image(g.describe(image.data(), NNI_DTYPE_INT16));
        seg.attach(g);
        seg.activate(nullptr, labels.size(), 2, preview.data());
        const nni::Index3 hit = seg.point(g.index_to_world(nni::Index3{c, c, c}));
        const size_t changed = seg.commit(labels.data(), labels.size());

        size_t inter = 0, sum = 0;
        for (size_t x = 0; x < labels.size(); ++x) {
            inter += labels[x] == 2 && truth[x];
            sum += size_t(labels[x] == 2) + size_t(truth[x] != 0);
        }
        const double dice = sum == 0 ? 0.0 : 2.0 * double(inter) / double(sum);
        const bool at_centre = hit == nni::Index3{c, c, c};
        std::printf("adapter_consumer: world click -> voxel (%lld, %lld, %lld), %zu voxels "
                    "committed, Dice %.4f\n",
                    static_cast<long long>(hit[0]), static_cast<long long>(hit[1]),
                    static_cast<long long>(hit[2]), changed, dice);
        return at_centre && dice >= 0.95 ? 0 : 1;
    } catch (const nni::Error &e) {
        std::fprintf(stderr, "adapter_consumer: %s\n", e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "adapter_consumer: %s\n", e.what());
    }
    return 1;
}
