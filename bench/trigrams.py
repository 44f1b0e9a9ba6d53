#!/usr/bin/env python3
# Builds src/engine/trigrams.txt: the most common lowercase three-byte sequences of printable ASCII
# in a sample of ordinary source code (an equal share of 21 MB from each ROOT, files in a seeded
# shuffle), most common first, 20 to a line ended by `|`. The keyword prefilter anchors each keyword
# on its least common sequence.
#
#   python3 bench/trigrams.py 4000 ~/.cargo/registry/src /usr/lib/python3.11 NOMAD > src/engine/trigrams.txt
#
# NOMAD is a checkout of hashicorp/nomad (Go: the language of the Terraform and cloud tools whose
# users keyfence serves; Rust and Python alone left `ver`, `cen` and `eco` looking rare).
# Never feed it the benchmark trees (moby, terraform, git): the anchors would be tuned to them.
import os,collections,random,sys
random.seed(7)
exts={'.rs','.py','.toml','.md','.json','.yml','.yaml','.c','.h','.js','.txt','.sh','.go','.tf'}
c=collections.Counter()
roots=sys.argv[2:]
for root in roots:
    files=[]
    for dp,dn,fn in os.walk(root):
        dn.sort()
        for f in sorted(fn):
            p=os.path.join(dp,f)
            if os.path.splitext(f)[1] in exts and os.path.isfile(p) and not os.path.islink(p): files.append(p)
    random.shuffle(files)
    n=0
    for p in files:
        d=open(p,'rb').read(200000).lower()
        for i in range(len(d)-2):
            g=d[i:i+3]
            if all(0x20<=b<0x7f for b in g): c[g]+=1
        n+=len(d)
        if n>21e6/len(roots): break
top=[g for g,_ in c.most_common(int(sys.argv[1]))]
out=[]
for i in range(0,len(top),20):
    out.append(b''.join(top[i:i+20])+b'|')
sys.stdout.buffer.write(b'\n'.join(out)+b'\n')
