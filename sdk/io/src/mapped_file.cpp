// vitedit — read-only file mappings.
#include "vitedit/mapped_file.hpp"

#include "vitedit/backend.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vitedit {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        throw Error(path + ": cannot stat: " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(path + ": not a regular file");
    }
    const size_t size = static_cast<size_t>(st.st_size);
    if (size == 0) {
        ::close(fd);
        throw Error(path + ": file is empty");
    }
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int map_errno = errno;
    ::close(fd);  // the mapping keeps the file referenced
    if (map == MAP_FAILED) throw Error(path + ": cannot map the file: " + std::strerror(map_errno));
    return std::shared_ptr<const MappedFile>(new MappedFile(path, static_cast<const uint8_t*>(map), size));
}

MappedFile::MappedFile(std::string path, const uint8_t* data, size_t size)
    : path_(std::move(path)), data_(data), size_(size) {}

MappedFile::~MappedFile() { ::munmap(const_cast<uint8_t*>(data_), size_); }

void MappedFile::drop_pages(const void* p, size_t n) const {
    static const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t lo = reinterpret_cast<uintptr_t>(p), hi = lo + n;
    const uintptr_t begin = (lo + page - 1) / page * page, end = hi / page * page;  // whole pages only:
    // the partial ones at the ends are shared with the neighbouring tensors
    const uintptr_t base = reinterpret_cast<uintptr_t>(data_);
    if (lo < base || hi > base + size_ || end <= begin) return;
    // MADV_DONTNEED on a private, never-written file mapping only unmaps: the next read maps the
    // page-cache page again. A failure merely leaves the pages resident.
    (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace vitedit
