// Does the ITK adapter read geometry exactly as MITK does? mitk_module/test/data holds two
// images with an oblique, flipped direction and anisotropic spacing (a hand-written NRRD and a
// NIfTI written by MITK) and MITK's own readings of them (mitk_geometry.txt, recorded by
// tools/test/mitk_geometry.py with the mitk-python wheel; CI records them again and compares).
// Here ITK reads the same files and nni::itk must agree with MITK on dims, spacing, origin,
// direction, the voxel order, world -> index, index -> world and which voxel a point is in.
#include "../../adapters/itk/nninteractive_itk.hpp"

#include <itkImageFileReader.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

int g_failures = 0;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            ++g_failures;                                                                      \
        }                                                                                      \
    } while (0)

bool close(double a, double b, double tol) { return std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b)); }

struct Stats {
    size_t w2i = 0, i2w = 0, inside = 0, values = 0;
    double worst_w2i = 0.0, worst_i2w = 0.0;
};

} // namespace

int main()
{
    using ImageType = itk::Image<short, 3>;
    const std::string dir = NNI_MITK_DATA_DIR;
    std::ifstream golden(dir + "/mitk_geometry.txt");
    if (!golden) {
        std::fprintf(stderr, "cannot open %s/mitk_geometry.txt\n", dir.c_str());
        return 1;
    }
    ImageType::Pointer image;
    nni::itk::Geometry geo;
    std::string current;
    Stats st;
    size_t files = 0;
    std::string line;
    while (std::getline(golden, line)) {
        std::istringstream in(line);
        std::string head;
        in >> head;
        std::vector<double> v;
        std::string word;
        if (head == "file") {
            if (!current.empty()) {
                std::printf("  %-22s %zu w2i (worst %.2e), %zu i2w (worst %.2e mm), %zu inside, %zu values\n",
                            current.c_str(), st.w2i, st.worst_w2i, st.i2w, st.worst_i2w, st.inside, st.values);
            }
            in >> current;
            st = Stats{};
            ++files;
            auto reader = itk::ImageFileReader<ImageType>::New();
            reader->SetFileName(dir + "/" + current);
            reader->Update();
            image = reader->GetOutput();
            geo = nni::itk::geometry_of(image.GetPointer());
            continue;
        }
        for (double x; in >> x;) {
            v.push_back(x);
        }
        if (head == "dims") {
            for (unsigned a = 0; a < 3; ++a) {
                CHECK(geo.dims()[a] == static_cast<uint64_t>(v[a]));
            }
        } else if (head == "spacing") {
            for (unsigned a = 0; a < 3; ++a) {
                CHECK(close(geo.spacing()[a], v[a], 1e-12));
            }
        } else if (head == "origin") {
            for (unsigned a = 0; a < 3; ++a) {
                CHECK(close(geo.origin()[a], v[a], 1e-12));
            }
        } else if (head == "direction") {
            for (unsigned a = 0; a < 9; ++a) {
                CHECK(close(geo.direction()[a], v[a], 1e-12));
            }
        } else if (head == "w2i") {
            const nni::Vec3 c = geo.world_to_continuous_index({v[0], v[1], v[2]});
            for (unsigned a = 0; a < 3; ++a) {
                st.worst_w2i = std::max(st.worst_w2i, std::fabs(c[a] - v[3 + a]));
                CHECK(close(c[a], v[3 + a], 1e-9));
            }
            ++st.w2i;
        } else if (head == "i2w") {
            const nni::Vec3 w = geo.index_to_world(nni::Vec3{v[0], v[1], v[2]});
            for (unsigned a = 0; a < 3; ++a) {
                st.worst_i2w = std::max(st.worst_i2w, std::fabs(w[a] - v[3 + a]));
                CHECK(close(w[a], v[3 + a], 1e-9));
            }
            ++st.i2w;
        } else if (head == "inside") {
            // MITK's IsIndexInside of a continuous index == the nearest voxel (the adapter's
            // rounding of a click) lies in the image
            const nni::Vec3 w = geo.index_to_world(nni::Vec3{v[0], v[1], v[2]});
            const nni::Index3 ijk = geo.world_to_index(w);
            CHECK(geo.inside(ijk) == (v[3] != 0.0));
            ++st.inside;
        } else if (head == "value") {
            ImageType::IndexType idx;
            for (unsigned a = 0; a < 3; ++a) {
                idx[a] = static_cast<itk::IndexValueType>(v[a]);
            }
            CHECK(image->GetPixel(idx) == static_cast<short>(v[3]));
            // and the session's buffer order is ITK's (and so MITK's)
            const size_t at = static_cast<size_t>((v[2] * static_cast<double>(geo.dims()[1]) + v[1]) *
                                                      static_cast<double>(geo.dims()[0]) +
                                                  v[0]);
            CHECK(image->GetBufferPointer()[at] == static_cast<short>(v[3]));
            ++st.values;
        } else {
            std::fprintf(stderr, "unknown record: %s\n", line.c_str());
            ++g_failures;
        }
    }
    if (!current.empty()) {
        std::printf("  %-22s %zu w2i (worst %.2e), %zu i2w (worst %.2e mm), %zu inside, %zu values\n",
                    current.c_str(), st.w2i, st.worst_w2i, st.i2w, st.worst_i2w, st.inside, st.values);
    }
    CHECK(files == 2);
    if (g_failures == 0) {
        std::printf("mitk_geometry_test: ITK through nni::itk reads both files as MITK does\n");
        return 0;
    }
    std::fprintf(stderr, "mitk_geometry_test: %d check(s) failed\n", g_failures);
    return 1;
}
