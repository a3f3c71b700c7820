/*
 * batch-read.c - `flexiai batch` input files read a line at a time: regular
 * files and pipes only, each line at most max_input_bytes in memory (the
 * rest of a longer line is read and dropped, and the item says so), and
 * the items counted up front for the progress line.
 */
#include "config.h"

#include "batch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An input file: a regular file or a pipe (-i <(...)), never a directory
 * or a device (/dev/zero would be one endless line). */
static FILE *
open_input(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        tool_die(FLEXIAI_ENOINPUT, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
        tool_die(FLEXIAI_ENOINPUT, "%s: %s", path,
                 S_ISDIR(st.st_mode) ? "is a directory"
                                     : "not a regular file or a pipe");
    FILE *fp = fdopen(fd, "r");
    if (fp == NULL)
        tool_die(FLEXIAI_ENOINPUT, "%s: %s", path, strerror(errno));
    return fp;
}

/* One line into in->line (no newline), at most max_input_bytes kept: the
 * rest of a longer line is read and dropped, its size in in->over.  0, or
 * -1 at the end of the file. */
static int
get_line(struct batch_input *in)
{
    FILE *fp = in->fp;
    int c = EOF;
    in->line.len = 0;
    in->over = 0;
    long long n = 0;
    flockfile(fp);
    while ((c = getc_unlocked(fp)) != EOF && c != '\n') {
        if (++n <= tool_max_input)
            fxu_buf_putc(&in->line, (char)c);
    }
    funlockfile(fp);
    if (c == EOF && n == 0)
        return -1;
    if (n > tool_max_input)
        in->over = n;
    return 0;
}

/* The next line (no newline): its length, or -1 at the end of all input. */
ssize_t
batch_read_line(struct batch_input *in)
{
    for (;;) {
        if (in->fp == NULL) {
            if (in->next >= in->npaths) {
                in->eof = 1;
                return -1;
            }
            const char *path = in->paths[in->next++];
            in->name = strcmp(path, "-") == 0 ? "stdin" : path;
            in->fp = strcmp(path, "-") == 0 ? stdin : open_input(path);
        }
        if (get_line(in) == 0) {
            in->lineno++;
            fxu_buf_putc(&in->line, '\0');
            in->line.len--;
            return (ssize_t)in->line.len;
        }
        if (ferror(in->fp))
            tool_die(FLEXIAI_ENOINPUT, "%s: %s", in->name, strerror(errno));
        if (in->fp != stdin)
            fclose(in->fp);
        in->fp = NULL;
    }
}

/* Items in regular input files, for the progress line; -1 when a pipe. */
long
batch_count_items(const char *const *paths, size_t npaths)
{
    long total = 0;
    for (size_t i = 0; i < npaths; i++) {
        struct stat st;
        int fd = strcmp(paths[i], "-") == 0 ? dup(STDIN_FILENO)
                                            : open(paths[i], O_RDONLY);
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
            lseek(fd, 0, SEEK_CUR) != 0) {
            if (fd >= 0)
                close(fd);
            return -1;
        }
        char buf[65536];
        ssize_t n;
        int blank = 1;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            for (ssize_t k = 0; k < n; k++) {
                if (buf[k] == '\n') {
                    total += !blank;
                    blank = 1;
                } else if (buf[k] != ' ' && buf[k] != '\t' && buf[k] != '\r') {
                    blank = 0;
                }
            }
        total += !blank;
        close(fd);
        if (strcmp(paths[i], "-") == 0)
            lseek(STDIN_FILENO, 0, SEEK_SET);
    }
    return total;
}
