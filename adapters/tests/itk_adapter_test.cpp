// nni::itk adapter test: a bright sphere at a known world (LPS) position in an image with
// anisotropic spacing, an origin and a rotated + flipped direction, segmented with
// blob-grow-p32.onnx from a world click, a world 2D box on an oblique slice and a world lasso
// on an oblique slice; the mask comes back with the input's geometry.
#include "../itk/nninteractive_itk.hpp"
#include "itk_test_image.hpp"

#include <itkImageRegionIteratorWithIndex.h>

#include <cstdio>
#include <random>

using namespace nni_test;
using ImageType = itk::Image<short, 3>;
using Point = nni::itk::PointType;

static Point to_point(const nni::Vec3 &v)
{
    Point p;
    p[0] = v[0];
    p[1] = v[1];
    p[2] = v[2];
    return p;
}

static nni::itk::VectorType to_vector(const nni::Vec3 &v)
{
    nni::itk::VectorType p;
    p[0] = v[0];
    p[1] = v[1];
    p[2] = v[2];
    return p;
}

int main()
{
    // ---- the image: geometry through ITK, sphere membership through ITK's own transform
    ImageType::Pointer image = make_itk_image<ImageType>(test_direction());
    const ImageType::RegionType region = image->GetBufferedRegion();

    itk::ContinuousIndex<double, 3> ci, di;
    for (unsigned a = 0; a < 3; ++a) {
        ci[a] = kCentreIndex[a];
        di[a] = kDecoyIndex[a];
    }
    Point centre, decoy;
    image->TransformContinuousIndexToPhysicalPoint(ci, centre);
    image->TransformContinuousIndexToPhysicalPoint(di, decoy);
    std::printf("sphere centre (LPS) = (%.3f, %.3f, %.3f), decoy = (%.3f, %.3f, %.3f)\n", centre[0],
                centre[1], centre[2], decoy[0], decoy[1], decoy[2]);

    const size_t n = region.GetNumberOfPixels();
    std::vector<unsigned char> truth(n, 0);
    size_t count = 0, decoy_count = 0;
    {
        itk::ImageRegionIteratorWithIndex<ImageType> it(image, region);
        size_t i = 0;
        for (it.GoToBegin(); !it.IsAtEnd(); ++it, ++i) {
            Point p;
            image->TransformIndexToPhysicalPoint(it.GetIndex(), p);
            const bool in = p.EuclideanDistanceTo(centre) <= kRadius;
            const bool in_decoy = p.EuclideanDistanceTo(decoy) <= kDecoyRadius;
            it.Set(static_cast<short>(in || in_decoy ? kBright : kBackground));
            truth[i] = in ? 1 : 0;
            count += in ? 1 : 0;
            decoy_count += in_decoy ? 1 : 0;
        }
    }
    std::printf("sphere voxels %zu, decoy voxels %zu\n", count, decoy_count);
    NNI_CHECK(count > 500 && decoy_count > 50);

    // ---- world -> index agrees with ITK's TransformPhysicalPointToIndex
    const nni::itk::Geometry geo = nni::itk::geometry_of(image.GetPointer());
    {
        std::mt19937 rng(7);
        std::uniform_real_distribution<double> u(-0.7, 1.7);
        int mismatches = 0;
        for (int t = 0; t < 20000; ++t) {
            itk::ContinuousIndex<double, 3> c;
            for (unsigned a = 0; a < 3; ++a) {
                c[a] = u(rng) * kDims[a];
            }
            if (t % 4 == 0) { // exact half-voxel points: the rounding direction matters
                for (unsigned a = 0; a < 3; ++a) {
                    c[a] = std::floor(c[a]) + 0.5;
                }
            }
            Point p;
            image->TransformContinuousIndexToPhysicalPoint(c, p);
            ImageType::IndexType ref;
            const bool inside = image->TransformPhysicalPointToIndex(p, ref);
            const nni::Index3 mine = nni::itk::world_to_index(geo, p);
            bool same = true;
            for (unsigned a = 0; a < 3; ++a) {
                same = same && mine[a] == ref[a];
            }
            // An exact half-voxel point may land either side after the round trip through
            // floating point; count only the disagreements away from a half voxel.
            bool near_half = false;
            for (unsigned a = 0; a < 3; ++a) {
                near_half = near_half || std::fabs(c[a] - std::floor(c[a]) - 0.5) < 1e-9;
            }
            if (!same && !near_half) {
                ++mismatches;
            }
            NNI_CHECK(inside == geo.inside(mine) || near_half);
        }
        std::printf("world_to_index vs TransformPhysicalPointToIndex: %d mismatches\n", mismatches);
        NNI_CHECK(mismatches == 0);
    }

    try {
        nni::runtime_init(NNI_ONNXRUNTIME);
        nni::Session s(NNI_TEST_MODEL, nni::Device::Cpu);
        const nni::itk::Geometry g2 = nni::itk::set_image(s, image.GetPointer());
        NNI_CHECK(s.dims()[0] == kDims[0] && s.dims()[1] == kDims[1] && s.dims()[2] == kDims[2]);
        (void)g2;

        auto check_mask = [&](const char *what) {
            nni::itk::MaskImageType::Pointer mask = nni::itk::get_mask(s, image.GetPointer());
            // exactly the input's geometry
            NNI_CHECK(mask->GetOrigin() == image->GetOrigin());
            NNI_CHECK(mask->GetSpacing() == image->GetSpacing());
            NNI_CHECK(mask->GetDirection() == image->GetDirection());
            NNI_CHECK(mask->GetLargestPossibleRegion() == image->GetLargestPossibleRegion());
            NNI_CHECK(mask->GetBufferedRegion() == image->GetBufferedRegion());
            const double dc = dice(mask->GetBufferPointer(), truth.data(), n);
            report(what, dc);
            NNI_CHECK(dc >= 0.95);
            // and the mask at the sphere centre, looked up through the mask's own geometry
            ImageType::IndexType idx;
            NNI_CHECK(mask->TransformPhysicalPointToIndex(centre, idx));
            NNI_CHECK(mask->GetPixel(idx) == 1);
            NNI_CHECK(mask->TransformPhysicalPointToIndex(decoy, idx));
            NNI_CHECK(mask->GetPixel(idx) == 0);
        };

        // 1. one world click at the sphere centre
        const nni::Index3 click = nni::itk::add_world_point(s, geo, centre);
        std::printf("click voxel (%lld, %lld, %lld)\n", static_cast<long long>(click[0]),
                    static_cast<long long>(click[1]), static_cast<long long>(click[2]));
        check_mask("world click at the sphere centre");

        // 2. a world 2D box on an oblique slice through the sphere
        s.reset();
        const Slice sl = oblique_slice({centre[0], centre[1], centre[2]});
        const nni::Vec3 a = g::sub(sl.centre, g::add(g::scale(sl.u, 6.0), g::scale(sl.v, 5.0)));
        const nni::Vec3 b = g::add(sl.centre, g::add(g::scale(sl.u, 6.0), g::scale(sl.v, 5.0)));
        const nni::itk::VoxelBox box =
            nni::itk::add_world_box(s, geo, to_point(a), to_point(b), to_vector(sl.u), to_vector(sl.v));
        std::printf("box [%lld,%lld,%lld)-[%lld,%lld,%lld) slice axis %d\n",
                    static_cast<long long>(box.min[0]), static_cast<long long>(box.min[1]),
                    static_cast<long long>(box.min[2]), static_cast<long long>(box.max[0]),
                    static_cast<long long>(box.max[1]), static_cast<long long>(box.max[2]), box.slice_axis);
        NNI_CHECK(box.slice_axis >= 0 && box.max[box.slice_axis] - box.min[box.slice_axis] == 1);
        check_mask("world 2D box on an oblique slice");

        // 3. a world lasso on an oblique slice through the sphere
        s.reset();
        const Slice sl2 = oblique_slice({centre[0], centre[1], centre[2]}, {-0.4, 1.0, 0.7});
        std::vector<Point> poly;
        for (const nni::Vec3 &p : circle_on(sl2, 5.0)) {
            poly.push_back(to_point(p));
        }
        const nni::itk::LassoRegion lr = nni::itk::add_world_lasso(s, geo, poly);
        const size_t drawn = count_marked(lr.mask);
        std::printf("lasso region slice axis %d, %zu voxels drawn of %zu\n", lr.box.slice_axis, drawn,
                    lr.mask.size());
        NNI_CHECK(drawn > 5);
        check_mask("world lasso on an oblique slice");

        // 4. a world scribble (a short brush stroke) on an oblique slice through the sphere
        s.reset();
        const Slice sl3 = oblique_slice({centre[0], centre[1], centre[2]}, {0.3, -1.0, 0.5});
        std::vector<Point> stroke;
        for (int k = -3; k <= 3; ++k) {
            const double t = k * 1.2;
            stroke.push_back(to_point(g::add(sl3.centre, g::add(g::scale(sl3.u, t), g::scale(sl3.v, 0.1 * t * t)))));
        }
        const nni::itk::LassoRegion sr = nni::itk::add_world_scribble(s, geo, stroke, to_vector(sl3.n), 1.0);
        const size_t brushed = count_marked(sr.mask);
        std::printf("scribble region slice axis %d, %zu voxels brushed of %zu\n", sr.box.slice_axis, brushed,
                    sr.mask.size());
        NNI_CHECK(brushed > 5);
        NNI_CHECK(sr.box.max[sr.box.slice_axis] - sr.box.min[sr.box.slice_axis] == 1);
        check_mask("world scribble on an oblique slice");

        // 5. a click outside the image is an error, not a wrong voxel
        s.reset();
        Point far = centre;
        far[0] += 500.0;
        bool threw = false;
        try {
            nni::itk::add_world_point(s, geo, far);
        } catch (const nni::Error &e) {
            threw = e.status() == NNI_ERR_OUT_OF_BOUNDS;
        }
        NNI_CHECK(threw);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "exception: %s\n", e.what());
        return 1;
    }
    return finish("itk_adapter_test");
}
