// nni::vtk adapter test. Two geometries:
//  A. vtkImageData's own geometry (VTK 9: origin, spacing, direction matrix) with an extent that
//     does not start at 0; points in the image's world frame.
//  B. Slicer's convention: vtkImageData with identity geometry (origin 0, spacing 1, identity
//     direction, extent from 0) and the real geometry in an IJK-to-RAS matrix; points in RAS.
// Each: a bright sphere at a known world position, segmented with blob-grow-p32.onnx from a
// world click, a world 2D box on an oblique slice and a world lasso on an oblique slice; the
// mask comes back with the input's geometry.
#include "../vtk/nninteractive_vtk.hpp"
#include "adapter_test_common.hpp"

#include <vtkMatrix3x3.h>
#include <vtkMatrix4x4.h>
#include <vtkNew.h>

#include <cstdio>
#include <functional>
#include <random>

using namespace nni_test;

// index (structured, VTK) -> world, for either geometry, computed by VTK itself.
using ToWorld = std::function<nni::Vec3(const double ijk[3])>;

static void segment_all(const char *label, vtkImageData *image, vtkMatrix4x4 *ijk_to_ras, const ToWorld &to_world)
{
    std::printf("-- %s\n", label);
    int ext[6];
    image->GetExtent(ext);
    double ci[3], di[3];
    for (int a = 0; a < 3; ++a) {
        ci[a] = kCentreIndex[a] + ext[2 * a];
        di[a] = kDecoyIndex[a] + ext[2 * a];
    }
    const nni::Vec3 centre = to_world(ci), decoy = to_world(di);
    std::printf("sphere centre (world) = (%.3f, %.3f, %.3f)\n", centre[0], centre[1], centre[2]);

    // Fill: membership through VTK's own index -> world transform.
    const size_t n = static_cast<size_t>(kDims[0]) * kDims[1] * kDims[2];
    std::vector<unsigned char> truth(n, 0);
    auto *buf = static_cast<float *>(image->GetScalarPointer());
    size_t count = 0, t = 0;
    for (int k = ext[4]; k <= ext[5]; ++k)
        for (int j = ext[2]; j <= ext[3]; ++j)
            for (int i = ext[0]; i <= ext[1]; ++i, ++t) {
                const double ijk[3] = {double(i), double(j), double(k)};
                const nni::Vec3 p = to_world(ijk);
                const bool in = g::norm(g::sub(p, centre)) <= kRadius;
                const bool in_decoy = g::norm(g::sub(p, decoy)) <= kDecoyRadius;
                buf[t] = static_cast<float>(in || in_decoy ? kBright : kBackground);
                truth[t] = in ? 1 : 0;
                count += in ? 1 : 0;
            }
    std::printf("sphere voxels %zu\n", count);
    NNI_CHECK(count > 500);

    const nni::vtk::Geometry geo = nni::vtk::geometry_of(image, ijk_to_ras);

    // world -> continuous index agrees with VTK (round trip through VTK's transform)
    {
        std::mt19937 rng(11);
        std::uniform_real_distribution<double> u(-0.5, 1.5);
        double worst = 0.0;
        for (int r = 0; r < 5000; ++r) {
            double c[3];
            for (int a = 0; a < 3; ++a) {
                c[a] = u(rng) * kDims[a] + ext[2 * a];
            }
            const nni::Vec3 back = geo.world_to_continuous_index(to_world(c));
            for (int a = 0; a < 3; ++a) {
                worst = std::max(worst, std::fabs(back[static_cast<size_t>(a)] + ext[2 * a] - c[a]));
            }
        }
        std::printf("world -> index round trip, worst error %.3g voxel\n", worst);
        NNI_CHECK(worst < 1e-9);
    }

    nni::Session s(NNI_TEST_MODEL, nni::Device::Cpu);
    nni::vtk::set_image(s, image, ijk_to_ras);

    auto check_mask = [&](const char *what) {
        vtkSmartPointer<vtkImageData> mask = nni::vtk::get_mask(s, image);
        int mext[6];
        mask->GetExtent(mext);
        for (int a = 0; a < 6; ++a) {
            NNI_CHECK(mext[a] == ext[a]);
        }
        for (int a = 0; a < 3; ++a) {
            NNI_CHECK(mask->GetOrigin()[a] == image->GetOrigin()[a]);
            NNI_CHECK(mask->GetSpacing()[a] == image->GetSpacing()[a]);
        }
        for (int r = 0; r < 3; ++r)
            for (int c = 0; c < 3; ++c)
                NNI_CHECK(mask->GetDirectionMatrix()->GetElement(r, c) ==
                          image->GetDirectionMatrix()->GetElement(r, c));
        NNI_CHECK(mask->GetScalarType() == VTK_UNSIGNED_CHAR);
        const double dc = dice(static_cast<unsigned char *>(mask->GetScalarPointer()), truth.data(), n);
        report(what, dc);
        NNI_CHECK(dc >= 0.95);
    };

    // 1. one world click at the sphere centre
    const nni::Index3 click = nni::vtk::add_world_point(s, geo, centre);
    std::printf("click voxel (%lld, %lld, %lld)\n", static_cast<long long>(click[0]),
                static_cast<long long>(click[1]), static_cast<long long>(click[2]));
    check_mask("world click at the sphere centre");

    // 2. world 2D box on an oblique slice
    s.reset();
    const Slice sl = oblique_slice(centre);
    const nni::Vec3 a = g::sub(sl.centre, g::add(g::scale(sl.u, 6.0), g::scale(sl.v, 5.0)));
    const nni::Vec3 b = g::add(sl.centre, g::add(g::scale(sl.u, 6.0), g::scale(sl.v, 5.0)));
    const nni::vtk::VoxelBox box = nni::vtk::add_world_box(s, geo, a, b, sl.u, sl.v);
    std::printf("box [%lld,%lld,%lld)-[%lld,%lld,%lld) slice axis %d\n", static_cast<long long>(box.min[0]),
                static_cast<long long>(box.min[1]), static_cast<long long>(box.min[2]),
                static_cast<long long>(box.max[0]), static_cast<long long>(box.max[1]),
                static_cast<long long>(box.max[2]), box.slice_axis);
    NNI_CHECK(box.slice_axis >= 0 && box.max[box.slice_axis] - box.min[box.slice_axis] == 1);
    check_mask("world 2D box on an oblique slice");

    // 3. world lasso on an oblique slice
    s.reset();
    const nni::vtk::LassoRegion lr =
        nni::vtk::add_world_lasso(s, geo, circle_on(oblique_slice(centre, {-0.4, 1.0, 0.7}), 5.0));
    const size_t drawn = count_marked(lr.mask);
    std::printf("lasso region slice axis %d, %zu voxels drawn\n", lr.box.slice_axis, drawn);
    NNI_CHECK(drawn > 5);
    check_mask("world lasso on an oblique slice");

    // 4. world scribble (a short curved brush stroke) on an oblique slice
    s.reset();
    const Slice sl3 = oblique_slice(centre, {0.3, -1.0, 0.5});
    std::vector<nni::Vec3> stroke;
    for (int k = -3; k <= 3; ++k) {
        const double t = k * 1.2;
        stroke.push_back(g::add(sl3.centre, g::add(g::scale(sl3.u, t), g::scale(sl3.v, 0.1 * t * t))));
    }
    const nni::vtk::LassoRegion sr = nni::vtk::add_world_scribble(s, geo, stroke, sl3.n, 1.0);
    const size_t brushed = count_marked(sr.mask);
    std::printf("scribble region slice axis %d, %zu voxels brushed\n", sr.box.slice_axis, brushed);
    NNI_CHECK(brushed > 5);
    check_mask("world scribble on an oblique slice");
}

int main()
{
    try {
        nni::runtime_init(NNI_ONNXRUNTIME);
        const nni::Mat3 d = test_direction();

        // A. the image's own VTK 9 geometry, extent not starting at 0
        {
            vtkNew<vtkImageData> image;
            image->SetExtent(3, 3 + int(kDims[0]) - 1, -5, -5 + int(kDims[1]) - 1, 0, int(kDims[2]) - 1);
            image->SetSpacing(kSpacing[0], kSpacing[1], kSpacing[2]);
            image->SetOrigin(kOrigin[0], kOrigin[1], kOrigin[2]);
            image->SetDirectionMatrix(d.data());
            image->AllocateScalars(VTK_FLOAT, 1);
            vtkImageData *im = image.GetPointer();
            segment_all("vtkImageData geometry (origin, spacing, direction, extent from (3,-5,0))", im, nullptr,
                        [im](const double ijk[3]) {
                            double xyz[3];
                            im->TransformContinuousIndexToPhysicalPoint(ijk, xyz);
                            return nni::Vec3{xyz[0], xyz[1], xyz[2]};
                        });
        }

        // B. Slicer: identity image geometry, IJK-to-RAS = diag(-1,-1,1) * the LPS geometry
        {
            vtkNew<vtkImageData> image;
            image->SetDimensions(int(kDims[0]), int(kDims[1]), int(kDims[2]));
            image->AllocateScalars(VTK_FLOAT, 1);
            vtkNew<vtkMatrix4x4> ijk_to_ras;
            const double lps_to_ras[3] = {-1.0, -1.0, 1.0};
            for (int r = 0; r < 3; ++r) {
                for (int c = 0; c < 3; ++c) {
                    ijk_to_ras->SetElement(r, c, lps_to_ras[r] * d[static_cast<size_t>(r * 3 + c)] * kSpacing[c]);
                }
                ijk_to_ras->SetElement(r, 3, lps_to_ras[r] * kOrigin[r]);
            }
            vtkMatrix4x4 *m = ijk_to_ras.GetPointer();
            segment_all("Slicer IJK-to-RAS matrix, identity vtkImageData geometry, RAS points", image.GetPointer(), m,
                        [m](const double ijk[3]) {
                            const double in[4] = {ijk[0], ijk[1], ijk[2], 1.0};
                            double out[4];
                            m->MultiplyPoint(in, out);
                            return nni::Vec3{out[0], out[1], out[2]};
                        });
        }
    } catch (const std::exception &e) {
        std::fprintf(stderr, "exception: %s\n", e.what());
        return 1;
    }
    return finish("vtk_adapter_test");
}
