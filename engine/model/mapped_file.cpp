// mapped_file: open + fstat + mmap; the descriptor is closed right after
// mapping (the mapping keeps the file alive).
// from_bytes copies into a heap buffer instead. The destructor unmaps; views into data() must not outlive the object.
#include "model/mapped_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace actorlm {

result<std::shared_ptr<mapped_file>> mapped_file::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error("cannot open %s: %s", path.c_str(), std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int e = errno;
        ::close(fd);
        return make_error("cannot stat %s: %s", path.c_str(), std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_error("%s is not a regular file", path.c_str());
    }
    if (st.st_size <= 0) {
        ::close(fd);
        return make_error("%s is empty", path.c_str());
    }
    size_t size = static_cast<size_t>(st.st_size);
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    ::close(fd);
    if (p == MAP_FAILED) return make_error("cannot map %s: %s", path.c_str(), std::strerror(e));
    return std::shared_ptr<mapped_file>(
        new mapped_file(path, static_cast<const uint8_t*>(p), size));
}

std::shared_ptr<mapped_file> mapped_file::from_bytes(std::string name, std::string_view bytes) {
    auto copy = std::make_unique<uint8_t[]>(bytes.size());
    if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
    std::shared_ptr<mapped_file> f(new mapped_file(std::move(name), copy.get(), bytes.size()));
    f->owned_ = std::move(copy);
    return f;
}

mapped_file::~mapped_file() {
    if (data_ && !owned_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace actorlm
